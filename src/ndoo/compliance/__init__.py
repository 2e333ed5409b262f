"""The organisation's compliance programme: the implementation guide's five actions, the
technical-solution decision, the declaration of compliance, the overall status, and the
documents generated from the organisation's own register."""
