// Shapes of the routing and workspace API (docs/routing.md).

export type Presence = 'online' | 'busy' | 'away' | 'offline'
export type AgentState = 'available' | 'full' | 'wrap_up' | 'busy' | 'away' | 'offline'

export interface PresenceRead {
  agent_id: number
  presence: Presence
  reason: string | null
  since: string
  state: AgentState
  load: number
  capacity: number
  channel_capacity: Record<string, number>
  channel_load: Record<string, number>
  wrap_up_until: string | null
  wrap_up_seconds: number
  groups: string[]
  reasons: Record<Presence, string[]>
}

export interface QueueStatus {
  status: string
  skill_group: string | null
  queue_position: number | null
  estimated_wait_seconds: number | null
  waited_seconds: number | null
  callback_offered: boolean
}

export interface NoteRead {
  id: number
  kind: 'transfer' | 'whisper' | 'invite'
  author_id: number | null
  author_name: string
  to_agent_id: number | null
  to_group: string | null
  text: string
  created_at: string
  resolved_at: string | null
}

export interface CannedRead {
  id: number
  title: string
  content: string
  shortcut: string | null
  skill_group: string | null
  language: string
  shared: boolean
  editable: boolean
  variables: string[]
}

export interface WrapUpCode {
  code: string
  name_zh: string
  name_en: string
}

export interface TransferTargets {
  agents: { id: number; display_name: string; state: AgentState; load: number; capacity: number; groups: string[] }[]
  groups: { code: string; name_zh: string; name_en: string; waiting: number; agents_available: number }[]
}

export interface AssistRead {
  conversation_id: string
  verification_level: string
  facts: { type: string; value: string; message_id: number | null }[]
  suggestions: { entry_id: number; question: string; answer: string; score: number }[]
  similar: {
    conversation_id: string
    channel: string
    intent: string | null
    closed_at: string
    excerpt: string
    wrap_up_code: string | null
    same_customer: boolean
    score: number
  }[]
  hints: { code: string; severity: 'info' | 'warning' | 'danger'; text: Record<string, string> }[]
}

export interface ServiceLevelRead {
  offered: number
  answered: number
  answered_in_time: number
  abandoned: number
  short_abandoned: number
  callbacks: number
  service_level: number | null
  abandon_rate: number | null
  average_answer_seconds: number | null
  longest_answer_seconds: number | null
}

export interface WallboardRead {
  at: string
  short_abandon_seconds: number
  waiting: number
  longest_wait_seconds: number | null
  today: ServiceLevelRead
  agents_by_state: Record<AgentState, number>
  groups: {
    code: string
    name_zh: string
    name_en: string
    strategy: string
    service_level_seconds: number
    max_wait_seconds: number
    overflow_group: string | null
    waiting: number
    longest_wait_seconds: number | null
    agents_available: number
    agents_online: number
    free_slots: number
    today: ServiceLevelRead
  }[]
  agents: {
    id: number
    display_name: string
    role: string
    presence: Presence
    reason: string | null
    since: string | null
    state: AgentState
    load: number
    capacity: number
    wrap_up_until: string | null
    groups: string[]
  }[]
  callbacks: {
    id: number
    kind: 'callback' | 'message'
    skill_group: string
    phone: string | null
    message: string | null
    status: string
    ticket_reference: string | null
    created_at: string
  }[]
  invites: { conversation_id: string; note: NoteRead }[]
}

export const STATE_TAG: Record<AgentState, 'success' | 'warning' | 'info' | 'danger' | 'primary'> = {
  available: 'success',
  full: 'warning',
  wrap_up: 'primary',
  busy: 'danger',
  away: 'info',
  offline: 'info',
}

/** Seconds as "42 秒" / "3 分 05 秒". */
export function durationParts(seconds: number | null | undefined): { m: number; s: number } | null {
  if (seconds === null || seconds === undefined) return null
  const total = Math.max(0, Math.round(seconds))
  return { m: Math.floor(total / 60), s: total % 60 }
}
