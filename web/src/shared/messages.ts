// Keeping a message list in order while the socket, the REST fallback and our own optimistic sends
// all deliver the same messages: dedupe by id, and let the stored copy replace our pending one.
import type { ChatMessage, MessageRead, SenderType } from './types'

/** Insert or replace `incoming` in `list` (mutates, so a reactive array updates in place). */
export function mergeMessage(list: ChatMessage[], incoming: MessageRead): void {
  const byId = list.findIndex((m) => m.id !== null && m.id === incoming.id)
  if (byId >= 0) {
    list[byId] = { ...incoming }
    return
  }
  if (incoming.client_msg_id) {
    const pending = list.findIndex((m) => m.id === null && m.client_msg_id === incoming.client_msg_id)
    if (pending >= 0) list.splice(pending, 1)
  }
  // Stored messages in id order, pending ones after them.
  let at = list.length
  while (at > 0 && (list[at - 1].id === null || (list[at - 1].id as number) > incoming.id)) at -= 1
  list.splice(at, 0, { ...incoming })
}

export function mergeMessages(list: ChatMessage[], incoming: MessageRead[]): void {
  for (const m of incoming) mergeMessage(list, m)
}

export function maxMessageId(list: ChatMessage[]): number {
  let max = 0
  for (const m of list) if (m.id !== null && m.id > max) max = m.id
  return max
}

export function pendingMessage(opts: {
  clientMsgId: string
  text: string
  conversationId: string
  senderType: SenderType
  senderName?: string | null
}): ChatMessage {
  return {
    id: null,
    conversation_id: opts.conversationId,
    channel: 'webchat',
    direction: opts.senderType === 'customer' ? 'in' : 'out',
    sender_type: opts.senderType,
    sender_name: opts.senderName ?? null,
    content_type: 'text',
    content: opts.text,
    payload: null,
    client_msg_id: opts.clientMsgId,
    created_at: new Date().toISOString(),
    pending: true,
  }
}

export function isSystemMessage(m: Pick<ChatMessage, 'sender_type' | 'content_type'>): boolean {
  return m.sender_type === 'system' || m.content_type === 'event'
}

/** Quick-reply options a bot card may carry: strings or {label, value} objects under a few names. */
export function messageOptions(m: ChatMessage): { label: string; value: string }[] {
  const p = m.payload
  if (!p) return []
  const raw = p.quick_replies ?? p.options ?? p.buttons ?? p.suggestions
  if (!Array.isArray(raw)) return []
  return raw
    .map((o) => {
      if (typeof o === 'string') return { label: o, value: o }
      if (o && typeof o === 'object') {
        const r = o as Record<string, unknown>
        const label = String(r.label ?? r.title ?? r.text ?? r.value ?? '')
        return { label, value: String(r.value ?? r.text ?? label) }
      }
      return { label: '', value: '' }
    })
    .filter((o) => o.label)
}

/** A card the bot sends (balances, bills, transactions, progress): rows of label / value / note. */
export interface MessageCard {
  type: string
  title: string
  rows: { label: string; value: string; note: string }[]
  footer: string
}

export function messageCard(m: ChatMessage): MessageCard | null {
  const card = m.payload?.card
  if (!card || typeof card !== 'object') return null
  const c = card as Record<string, unknown>
  const rows = Array.isArray(c.rows) ? c.rows : []
  return {
    type: String(c.type ?? ''),
    title: String(c.title ?? ''),
    rows: rows
      .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
      .map((r) => ({ label: String(r.label ?? ''), value: String(r.value ?? ''), note: String(r.note ?? '') })),
    footer: String(c.footer ?? ''),
  }
}

/** The bot asks for a one-time code: the page says where to type it. */
export function asksForCode(m: ChatMessage): boolean {
  const step = m.payload?.step_up
  return !!step && typeof step === 'object' && Array.isArray((step as Record<string, unknown>).methods)
}

/** A knowledge-base answer's rich text (sanitised by the server when the entry was saved), or null. */
export function richAnswer(m: ChatMessage): string | null {
  const html = m.payload?.answer_html
  return typeof html === 'string' && html ? html : null
}
