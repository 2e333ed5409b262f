"""The organisation's disclosures: the register, the scope rules and their assessments."""
