"""Every top-level command group, in the order ``ndoo --help`` lists them."""

from __future__ import annotations

import click

from ndoo.cli.apply import apply_group
from ndoo.cli.audit import audit_group
from ndoo.cli.cache import cache_group
from ndoo.cli.check import check_group
from ndoo.cli.compliance import compliance_group
from ndoo.cli.db import db_group
from ndoo.cli.demo import demo_command
from ndoo.cli.disclosures import disclosures_group
from ndoo.cli.mesh import mesh_group
from ndoo.cli.person import person_group
from ndoo.cli.pos import pos_group
from ndoo.cli.register import register_group
from ndoo.cli.serve import serve_command
from ndoo.cli.settings import settings_command
from ndoo.cli.staff import staff_group
from ndoo.cli.stats import stats_group
from ndoo.cli.synth import synth
from ndoo.cli.training import training_group

ALL: list[click.Command] = [
    demo_command,
    register_group,
    person_group,
    check_group,
    cache_group,
    disclosures_group,
    compliance_group,
    training_group,
    stats_group,
    apply_group,
    serve_command,
    staff_group,
    pos_group,
    mesh_group,
    audit_group,
    db_group,
    synth,
    settings_command,
]
