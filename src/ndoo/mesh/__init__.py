"""MESH, the NHS messaging system: one mailbox session (:mod:`.transport`) and a local
sandbox server for the demo and the tests (:mod:`.sandbox`)."""

from ndoo.mesh.transport import CHECK_WORKFLOW, Mailbox, MailboxConfig, Received

__all__ = ["CHECK_WORKFLOW", "Mailbox", "MailboxConfig", "Received"]
