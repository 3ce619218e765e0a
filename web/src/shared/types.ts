// Shapes of the Lingxi API (docs/chat-api.md). Optional fields are ones the UI tolerates being absent.

export type SenderType = 'customer' | 'bot' | 'agent' | 'system'
export type ConversationStatus = 'bot' | 'queued' | 'assigned' | 'closed'
export type VerificationLevel = 'L0' | 'L1' | 'L2'

export interface MessageRead {
  id: number
  conversation_id: string
  channel: string
  direction: 'in' | 'out'
  sender_type: SenderType
  sender_name: string | null
  content_type: 'text' | 'event' | 'card' | string
  content: string
  payload: Record<string, unknown> | null
  client_msg_id: string | null
  created_at: string
}

/** A message shown in a list: a stored one, or one of ours still waiting for the server. */
export interface ChatMessage extends Omit<MessageRead, 'id'> {
  id: number | null
  pending?: boolean
  failed?: boolean
}

export interface ChatSession {
  session_token: string
  conversation_id: string
  visitor_id: string | null
  verification_level: VerificationLevel
  customer: { display_name: string; tier?: string } | null
  status: ConversationStatus
}

export interface DemoCustomer {
  customer_no: string
  display_name: string
  tier?: string | null
}

export interface StaffRead {
  id: number | string
  username: string
  display_name: string
  role: string
  branch_code?: string | null
  department?: string | null
  permissions: string[]
  is_active?: boolean
  created_at?: string
}

export interface LoginResponse {
  access_token: string
  token_type: string
  user: StaffRead
}

export interface CustomerBrief {
  id: number | string
  customer_no: string
  display_name: string
  tier?: string | null
  is_vip?: boolean
}

/** What the bot hands over: the agent starts where the bot stopped. */
export interface HandoffBrief {
  reason: string
  intent?: string | null
  intent_title?: Record<string, string>
  confidence?: number | null
  slots: Record<string, string>
  verification_level: string
  summary: Record<string, string>
  urgent?: boolean
}

export interface ConversationSummary {
  id: string
  channel: string
  status: ConversationStatus
  verification_level: VerificationLevel
  customer: CustomerBrief | null
  assigned_agent: { id: number | string; display_name: string } | null
  last_message: MessageRead | null
  handoff_reason?: string | null
  handoff?: HandoffBrief | null
  intent?: string | null
  skill_group?: string | null
  language?: string
  started_at: string
  last_message_at: string | null
  closed_at?: string | null
}

export interface ConversationDetail {
  conversation: ConversationSummary
  messages: MessageRead[]
}

export interface ItemList<T> {
  items: T[]
  next_cursor?: string | null
}

/** Loose record for API payloads whose exact shape is owned by another team (360 view, audit rows…). */
export type Row = Record<string, unknown>
