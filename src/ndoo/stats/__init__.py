"""Official statistics: the "[MI] National Data Opt-Out" publication, worked out from the register.

- :mod:`ndoo.stats.source` reads the register into compact columns, in chunks;
- :mod:`ndoo.stats.counting` applies the counting rules for each month;
- :mod:`ndoo.stats.tables` lays the counts out as the official tables;
- :mod:`ndoo.stats.publication` is the entry point (``compute`` and ``write``);
- :mod:`ndoo.stats.csvfiles` and :mod:`ndoo.stats.workbook` write the files;
- :mod:`ndoo.stats.charts` draws the charts.
"""
