// Permission names the UI gates on (mirror of src/lingxi/auth/permissions.py).
export const Perm = {
  CHAT_HANDLE: 'chat.handle',
  CHAT_MONITOR: 'chat.monitor',
  CUSTOMER_VIEW: 'customer.view',
  CUSTOMER_REVEAL: 'customer.reveal',
  KNOWLEDGE_READ: 'knowledge.read',
  KNOWLEDGE_EDIT: 'knowledge.edit',
  TICKET_VIEW: 'ticket.view',
  TICKET_HANDLE: 'ticket.handle',
  TICKET_SUPERVISE: 'ticket.supervise',
  STAFF_ADMIN: 'staff.admin',
  AUDIT_READ: 'audit.read',
  DEV_INBOX: 'dev.inbox',
} as const

export const ROLES = ['agent', 'supervisor', 'back_office', 'knowledge_admin', 'admin', 'auditor'] as const
