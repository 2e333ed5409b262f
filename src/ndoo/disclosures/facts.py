"""The facts a disclosure records, their allowed values and the questions that ask for them.

A disclosure is a use or a flow of data.  Each field is a :class:`Field`: its name, its
label in the record-of-processing spreadsheet, its allowed codes with their plain
labels, and, for the fields the scope rules read, the question the guided assessment
asks.  The codes are stable.  The CSV and the CLI accept a code, its label or one of
its listed spellings, in any case.

A scope fact may be unknown (blank).  The assessment asks only for the facts it still
needs (:mod:`ndoo.disclosures.scope`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

YES_NO = (("yes", "Yes"), ("no", "No"))

PURPOSES = (
    ("direct_care", "Direct (individual) care"),
    ("research", "Research"),
    ("service_planning", "Service planning"),
    ("commissioning", "Commissioning"),
    ("invoice_validation_contracted", "Invoice validation (contracted activity)"),
    ("invoice_validation_non_contracted", "Invoice validation (non-contracted activity)"),
    ("risk_stratification_case_finding", "Risk stratification for case finding"),
    ("risk_stratification_commissioning", "Risk stratification for commissioning"),
    ("local_clinical_audit", "Local clinical audit"),
    ("national_clinical_audit", "National clinical audit"),
    ("statutory_return", "Statutory return"),
    ("other", "Other"),
)

ORIGINS = (
    ("england_health_adult_social_care", "Health or adult social care in England"),
    ("childrens_social_care", "Children's social care"),
    ("outside_england", "A provider outside England"),
)

LEGAL_BASES = (
    ("explicit_consent", "Explicit consent"),
    ("legal_requirement", "Legal requirement or court order"),
    ("overriding_public_interest", "Overriding public interest"),
    ("s251_regulation_2", "Section 251 support under Regulation 2"),
    ("s251_regulation_5", "Section 251 support under Regulation 5"),
    ("copi_regulation_3", "Regulation 3 of COPI"),
)
S251_BASES = ("s251_regulation_2", "s251_regulation_5")

CAG_CONDITIONS = (
    ("standard_condition", "The approval carries the standard condition (opt-outs respected)"),
    ("exempts_flow", "The approval exempts this flow from the national data opt-out"),
)

EXEMPTIONS = (
    ("none", "No national exemption"),
    ("national_cancer_registration", "National Cancer Registration Service"),
    (
        "national_congenital_anomalies_rare_diseases",
        "National Congenital Anomalies and Rare Diseases Registration Service",
    ),
    ("ons_official_statistics", "ONS official statistics (s45A Statistics and Registration)"),
    ("nhsbsa_prescription_charges", "NHSBSA prescription charges (Regulation 18A)"),
    ("opensafely", "OpenSAFELY COVID-19 and Data Analytics services"),
    ("no_nhs_number_disproportionate", "No NHS number, and getting one is disproportionate"),
    ("patient_experience_survey", "National patient experience survey"),
)

FREQUENCIES = (
    ("one_off", "One-off"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("quarterly", "Quarterly"),
    ("annually", "Annually"),
    ("ad_hoc", "Ad hoc"),
)

#: Spellings seen in real spreadsheets, mapped to codes (in addition to codes and labels).
ALIASES: dict[str, dict[str, str]] = {
    "purpose": {
        "individual care": "direct_care",
        "direct care": "direct_care",
        "planning": "service_planning",
        "invoice validation contracted": "invoice_validation_contracted",
        "invoice validation non-contracted": "invoice_validation_non_contracted",
        "invoice validation non contracted": "invoice_validation_non_contracted",
        "risk stratification case finding": "risk_stratification_case_finding",
        "risk stratification commissioning": "risk_stratification_commissioning",
        "local audit": "local_clinical_audit",
        "national audit": "national_clinical_audit",
    },
    "origin": {
        "england": "england_health_adult_social_care",
        "health or adult social care in england": "england_health_adult_social_care",
        "children's social care": "childrens_social_care",
        "outside england": "outside_england",
    },
    "legal_bases": {
        "consent": "explicit_consent",
        "legal requirement": "legal_requirement",
        "court order": "legal_requirement",
        "public interest": "overriding_public_interest",
        "s251 reg 2": "s251_regulation_2",
        "s251 regulation 2": "s251_regulation_2",
        "section 251 regulation 2": "s251_regulation_2",
        "s251 reg 5": "s251_regulation_5",
        "s251 regulation 5": "s251_regulation_5",
        "section 251 regulation 5": "s251_regulation_5",
        "copi reg 3": "copi_regulation_3",
        "copi regulation 3": "copi_regulation_3",
        "regulation 3": "copi_regulation_3",
    },
    "cag_condition": {
        "standard": "standard_condition",
        "standard condition": "standard_condition",
        "exempt": "exempts_flow",
        "exempts": "exempts_flow",
    },
    "national_exemption": {"": "none", "n/a": "none", "no": "none"},
    "frequency": {
        "one off": "one_off",
        "ad hoc": "ad_hoc",
        "annual": "annually",
        "yearly": "annually",
    },
}
ALIASES["basis_for_flow"] = ALIASES["legal_bases"]
for _name in ("contains_cpi", "anonymised", "exemption_confirmed"):
    ALIASES[_name] = {"y": "yes", "n": "no", "true": "yes", "false": "no"}


@dataclass(frozen=True)
class Field:
    """One field of a disclosure.

    ``kind`` is ``text``, ``choice``, ``choices`` (several codes), ``date`` or
    ``yes_no``.  ``scope`` marks the fields the scope rules read: changing one marks
    the disclosure for re-assessment.
    """

    name: str
    column: str
    kind: str
    help: str
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False
    scope: bool = False
    question: str = ""
    max_length: int = 500

    @property
    def aliases(self) -> dict[str, str]:
        return ALIASES.get(self.name, {})

    def label_of(self, code: str) -> str:
        return dict(self.choices).get(code, code)

    def parse_choice(self, raw: str) -> str:
        """The code ``raw`` names; ``ValueError`` naming the allowed values if none."""
        key = _key(raw)
        for code, label in self.choices:
            if key in (_key(code), _key(label)):
                return code
        for alias, code in self.aliases.items():
            if key == _key(alias):
                return code
        allowed = ", ".join(code for code, _ in self.choices)
        raise ValueError(f"{raw!r} is not one of: {allowed}")


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


FIELDS: tuple[Field, ...] = (
    Field("reference", "Reference", "text", "The disclosure's own reference.", required=True,
          max_length=60),
    Field("title", "Title", "text", "What the disclosure is, in a few words.", required=True,
          max_length=200),
    Field("recipient", "Recipient organisation", "text",
          "Who receives the data (for a use within the organisation, the team).", required=True,
          max_length=200),
    Field("purpose", "Purpose", "choice", "What the data is used for.", PURPOSES, scope=True,
          question="What is the data used for?"),
    Field("contains_cpi", "Confidential patient information", "yes_no",
          "Does the data hold confidential patient information (identifiable, given in "
          "confidence, about health or care)?", YES_NO, scope=True,
          question="Does the data hold confidential patient information: about people who "
          "can be identified, given in confidence, and about their health or care?"),
    Field("anonymised", "Anonymised to the ICO standard", "yes_no",
          "Is the data anonymised in line with the ICO code, or aggregate counts?", YES_NO,
          scope=True,
          question="Is the data anonymised in line with the ICO's anonymisation code, or "
          "only aggregate counts?"),
    Field("origin", "Origin of the data", "choice", "Where the data comes from.", ORIGINS,
          scope=True, question="Where does the data originate?"),
    Field("legal_bases", "Legal basis", "choices",
          "The common law basis (several may be listed, separated by ';').", LEGAL_BASES,
          scope=True, question="What is the common law legal basis for this flow?"),
    Field("basis_for_flow", "Basis covering this flow", "choice",
          "When several legal bases are listed, the one that covers this flow.", LEGAL_BASES,
          scope=True,
          question="Several legal bases are recorded. Which one covers this flow?"),
    Field("statute", "Statute or court order", "text",
          "For a legal requirement: the statute, direction or court order.", scope=True,
          question="Which statute, direction or court order requires the disclosure?"),
    Field("cag_reference", "CAG reference", "text",
          "For section 251 support: the CAG approval's reference.", scope=True,
          max_length=60, question="What is the CAG reference of the section 251 approval?"),
    Field("cag_condition", "CAG approval condition", "choice",
          "For section 251 support: does the approval carry the standard condition or exempt "
          "this flow?", CAG_CONDITIONS, scope=True,
          question="Check the approval letter or minutes: does the CAG approval carry the "
          "standard condition that opt-outs are respected, or exempt this flow?"),
    Field("national_exemption", "National exemption", "choice",
          "A national exemption that covers the flow, or none.", EXEMPTIONS, scope=True,
          question="Does a national exemption cover this flow?"),
    Field("exemption_confirmed", "Exemption confirmed", "yes_no",
          "For an exemption whose current rule is not settled: has it been confirmed for "
          "this flow?", YES_NO, scope=True,
          question="The current rule for this exemption is not settled in public guidance. "
          "Has the survey's approval confirmed that opt-outs do not apply to this flow?"),
    Field("frequency", "Frequency", "choice", "How often the data flows.", FREQUENCIES),
    Field("start_date", "Start date", "date", "When the flow starts (YYYY-MM-DD)."),
    Field("end_date", "End date", "date", "When the flow ends, if it does (YYYY-MM-DD)."),
    Field("owner", "Owner", "text", "Who is responsible for the disclosure.", max_length=200),
    Field("notes", "Notes", "text", "Anything else worth recording.", max_length=2000),
)  # fmt: skip

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

SCOPE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.scope)
