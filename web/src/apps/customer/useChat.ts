// State of the customer's chat: session (POST /api/chat/sessions), history, the live socket with
// resume from the last seen id, REST polling while the socket is down, optimistic sends with
// client_msg_id, status / verification level / typing from the server.
import { computed, ref, shallowRef } from 'vue'
import { ApiError, createApi, itemsOf, showError } from '@/shared/api'
import { currentLocale, t } from '@/shared/i18n'
import { clientMsgId, uuid } from '@/shared/ids'
import { maxMessageId, mergeMessage, mergeMessages, pendingMessage } from '@/shared/messages'
import { LiveSocket, type SocketState } from '@/shared/ws'
import type {
  ChatMessage,
  ChatSession,
  ConversationStatus,
  DemoCustomer,
  MessageRead,
  VerificationLevel,
} from '@/shared/types'
import type { QueueStatus } from '@/shared/routingTypes'

const SESSION_KEY = 'lingxi.chat.session'
const VISITOR_KEY = 'lingxi.chat.visitor'
const APP_TOKEN_KEY = 'lingxi.chat.app_token' // sessionStorage: lets "new conversation" keep the identity
const ACK_TIMEOUT_MS = 6_000
const POLL_MS = 3_000
const TYPING_SHOW_MS = 5_000
const BOT_THINKING_MAX_MS = 8_000
const QUEUE_RETRY_MS = 2_000

function storageGet(store: Storage, key: string): string | null {
  try {
    return store.getItem(key)
  } catch {
    return null
  }
}

function storageSet(store: Storage, key: string, value: string | null): void {
  try {
    if (value === null) store.removeItem(key)
    else store.setItem(key, value)
  } catch {
    /* storage disabled: the chat still works for this page view */
  }
}

function loadSession(): ChatSession | null {
  const raw = storageGet(localStorage, SESSION_KEY)
  if (!raw) return null
  try {
    const s = JSON.parse(raw) as ChatSession
    return s.session_token ? s : null
  } catch {
    return null
  }
}

function visitorId(): string {
  let id = storageGet(localStorage, VISITOR_KEY)
  if (!id) {
    id = `v-${uuid()}`
    storageSet(localStorage, VISITOR_KEY, id)
  }
  return id
}

export type Phase = 'loading' | 'start' | 'chat'
export type Connection = 'connecting' | 'online' | 'reconnecting' | 'polling'

export function useChat() {
  const api = createApi()
  const phase = ref<Phase>('loading')
  const session = ref<ChatSession | null>(null)
  const messages = ref<ChatMessage[]>([])
  const status = ref<ConversationStatus>('bot')
  const level = ref<VerificationLevel>('L0')
  const agentName = ref<string | null>(null)
  const queuePosition = ref<number | null>(null)
  // Routing: the estimated wait (null: no estimate), whether a callback is offered after a long wait,
  // and the satisfaction survey after an agent closed the chat.
  const estimatedWait = ref<number | null>(null)
  const callbackOffered = ref(false)
  const surveyAnswered = ref(false)
  const agentTyping = ref(false)
  // The bot answers in the same transaction as the message; this covers the round trip until it shows.
  const botThinking = ref(false)
  let botThinkingTimer: number | undefined
  const connection = ref<Connection>('connecting')
  const starting = ref(false)
  const demoCustomers = shallowRef<DemoCustomer[] | null>(null) // null: not demo mode

  let socket: LiveSocket | null = null
  let pollTimer: number | undefined
  let typingTimer: number | undefined
  const ackTimers = new Map<string, number>()

  const token = () => session.value?.session_token ?? null

  // ---- session -------------------------------------------------------------------------------

  function applySession(s: ChatSession): void {
    session.value = s
    status.value = s.status
    level.value = s.verification_level
    storageSet(localStorage, SESSION_KEY, JSON.stringify(s))
    if (s.visitor_id) storageSet(localStorage, VISITOR_KEY, s.visitor_id) // null for identified customers
  }

  function persist(): void {
    if (!session.value) return
    session.value = { ...session.value, status: status.value, verification_level: level.value }
    storageSet(localStorage, SESSION_KEY, JSON.stringify(session.value))
  }

  async function startSession(appToken: string | null): Promise<void> {
    starting.value = true
    try {
      const s = await api.post<ChatSession>('/api/chat/sessions', {
        app_token: appToken,
        visitor_id: visitorId(),
        language: currentLocale(),
      })
      storageSet(sessionStorage, APP_TOKEN_KEY, appToken)
      stopLive()
      messages.value = []
      agentName.value = null
      surveyAnswered.value = false
      applySession(s)
      phase.value = 'chat'
      await loadHistory()
      startLive()
    } catch {
      if (phase.value === 'loading') phase.value = 'start'
    } finally {
      starting.value = false
    }
  }

  async function demoLogin(customerNo: string): Promise<void> {
    try {
      const res = await api.get<{ app_token: string }>('/api/chat/demo-login', { query: { customer_no: customerNo } })
      await startSession(res.app_token)
    } catch {
      /* shown by the api client */
    }
  }

  async function loadDemoCustomers(): Promise<void> {
    try {
      const data = await api.get<DemoCustomer[] | { items: DemoCustomer[] }>('/api/chat/demo-customers', {
        silent: (e) => e.status === 404 || e.status === 403,
      })
      demoCustomers.value = itemsOf(data)
    } catch {
      demoCustomers.value = null // not demo mode
    }
  }

  /** The session expired or was revoked: back to the start screen (the visitor id is kept). */
  function sessionLost(): void {
    stopLive()
    session.value = null
    storageSet(localStorage, SESSION_KEY, null)
    messages.value = []
    phase.value = 'start'
    showError(new ApiError(401, 'session_expired', t('chat.sessionExpired')))
    void loadDemoCustomers()
  }

  function signOut(): void {
    stopLive()
    session.value = null
    storageSet(localStorage, SESSION_KEY, null)
    storageSet(sessionStorage, APP_TOKEN_KEY, null)
    messages.value = []
    phase.value = 'start'
    void loadDemoCustomers()
  }

  function newConversation(): Promise<void> {
    return startSession(storageGet(sessionStorage, APP_TOKEN_KEY))
  }

  async function init(): Promise<void> {
    const url = new URL(window.location.href)
    const appToken = url.searchParams.get('app_token')
    if (appToken) {
      // Do not leave a login token in the address bar or the history.
      url.searchParams.delete('app_token')
      window.history.replaceState(null, '', url.pathname + url.search + url.hash)
      await startSession(appToken)
      return
    }
    const stored = loadSession()
    if (stored) {
      applySession(stored)
      phase.value = 'chat'
      if (await loadHistory()) {
        startLive()
        return
      }
      return // loadHistory → sessionLost on 401
    }
    phase.value = 'start'
    await loadDemoCustomers()
  }

  // ---- messages ------------------------------------------------------------------------------

  // ---- the queue, callback / message, survey --------------------------------------------------

  let queueRetry: number | undefined

  async function refreshQueue(): Promise<void> {
    window.clearTimeout(queueRetry)
    try {
      const q = await api.get<QueueStatus>('/api/chat/queue', { token: token(), silent: true })
      if (q.status === 'queued') {
        queuePosition.value = q.queue_position
        estimatedWait.value = q.estimated_wait_seconds
        callbackOffered.value = q.callback_offered
      }
    } catch {
      /* the next status frame brings it */
    }
    // Just queued, the place may not be assigned yet (the router enters it after the hand-off
    // commits): ask again shortly rather than wait for the next announcement.
    if (status.value === 'queued' && queuePosition.value === null) {
      queueRetry = window.setTimeout(() => void refreshQueue(), QUEUE_RETRY_MS)
    }
  }

  async function requestCallback(kind: 'callback' | 'message', phone: string | null, text: string | null): Promise<boolean> {
    try {
      await api.post('/api/chat/queue/callback', { kind, phone: phone || null, message: text || null }, { token: token() })
      status.value = 'closed'
      persist()
      await loadHistory()
      return true
    } catch {
      return false
    }
  }

  async function leaveQueue(): Promise<void> {
    try {
      await api.post('/api/chat/queue/leave', undefined, { token: token() })
      status.value = 'closed'
      persist()
      await loadHistory()
    } catch {
      /* shown */
    }
  }

  function surveyKey(): string {
    return `lingxi.chat.survey.${session.value?.conversation_id ?? ''}`
  }

  /** The last survey prompt, if it came after the chat's last closing and has not been answered. */
  const survey = computed(() => {
    if (status.value !== 'closed' || surveyAnswered.value) return null
    const last = [...messages.value].reverse().find((m) => m.payload?.event === 'survey')
    if (!last || storageGet(localStorage, surveyKey()) === String(last.id)) return null
    return last
  })

  async function answerSurvey(score: number, comment: string | null): Promise<boolean> {
    const prompt = survey.value
    try {
      await api.post('/api/chat/survey', { score, comment: comment || null }, { token: token() })
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'survey_answered')) return false
    }
    if (prompt?.id) storageSet(localStorage, surveyKey(), String(prompt.id))
    surveyAnswered.value = true
    return true
  }

  function noteIncoming(m: MessageRead): void {
    if (m.sender_type === 'bot' || m.sender_type === 'agent' || m.sender_type === 'system') botThinking.value = false
    const joined = m.payload?.agent_name // the system message "客服 X 已接入" names the agent
    if (typeof joined === 'string' && joined) agentName.value = joined
    if (m.sender_type === 'agent') {
      agentName.value = m.sender_name || agentName.value
      agentTyping.value = false
      if (status.value === 'bot' || status.value === 'queued') {
        status.value = 'assigned'
        persist()
      }
    }
  }

  function receive(m: MessageRead): void {
    mergeMessage(messages.value, m)
    noteIncoming(m)
    if (m.client_msg_id) clearAck(m.client_msg_id)
  }

  /** REST read of everything after our last id. Returns false when the session is gone. */
  async function loadHistory(): Promise<boolean> {
    try {
      const data = await api.get<{ items: MessageRead[] }>('/api/chat/messages', {
        query: { after: maxMessageId(messages.value) },
        token: token(),
        silent: true,
      })
      const items = itemsOf(data)
      mergeMessages(messages.value, items)
      items.forEach(noteIncoming)
      return true
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        sessionLost()
        return false
      }
      return true // network trouble: the socket / polling will catch up
    }
  }

  function clearAck(cmid: string): void {
    const timer = ackTimers.get(cmid)
    if (timer !== undefined) window.clearTimeout(timer)
    ackTimers.delete(cmid)
  }

  async function postMessage(cmid: string, text: string): Promise<void> {
    clearAck(cmid)
    try {
      const m = await api.post<MessageRead>('/api/chat/messages', { client_msg_id: cmid, text }, { token: token() })
      receive(m)
    } catch (e) {
      const local = messages.value.find((x) => x.id === null && x.client_msg_id === cmid)
      if (local) {
        local.pending = false
        local.failed = true
      }
      if (e instanceof ApiError && e.status === 401) sessionLost()
    }
  }

  function send(text: string): void {
    const s = session.value
    if (!s || !text.trim()) return
    const cmid = clientMsgId()
    messages.value.push(
      pendingMessage({ clientMsgId: cmid, text, conversationId: s.conversation_id, senderType: 'customer' }),
    )
    if (status.value === 'bot') {
      botThinking.value = true
      window.clearTimeout(botThinkingTimer)
      botThinkingTimer = window.setTimeout(() => (botThinking.value = false), BOT_THINKING_MAX_MS)
    }
    if (socket?.send({ type: 'message', client_msg_id: cmid, text })) {
      // No ack in time: send the same client_msg_id over REST (the server dedupes).
      ackTimers.set(cmid, window.setTimeout(() => void postMessage(cmid, text), ACK_TIMEOUT_MS))
    } else {
      void postMessage(cmid, text)
    }
  }

  function retry(m: ChatMessage): void {
    if (!m.client_msg_id) return
    m.failed = false
    m.pending = true
    void postMessage(m.client_msg_id, m.content)
  }

  function typing(): void {
    socket?.send({ type: 'typing' })
  }

  // ---- live updates --------------------------------------------------------------------------

  function onSocket(data: Record<string, unknown>): void {
    switch (data.type) {
      case 'message':
      case 'ack':
        if (data.message) receive(data.message as MessageRead)
        break
      case 'status': {
        if (typeof data.status === 'string') status.value = data.status as ConversationStatus
        if (typeof data.verification_level === 'string') level.value = data.verification_level as VerificationLevel
        const agent = data.agent as { display_name?: string } | string | undefined
        const name = typeof data.agent_name === 'string' ? data.agent_name : typeof agent === 'string' ? agent : agent?.display_name
        if (name) agentName.value = name
        queuePosition.value = typeof data.queue_position === 'number' ? data.queue_position : null
        estimatedWait.value = typeof data.estimated_wait_seconds === 'number' ? data.estimated_wait_seconds : null
        if (typeof data.callback_offered === 'boolean') callbackOffered.value = data.callback_offered
        // A status frame without the place (a plain status change): ask for it.
        if (status.value === 'queued' && queuePosition.value === null) void refreshQueue()
        persist()
        break
      }
      case 'typing':
        if (data.sender_type === 'agent' || data.sender_type === 'bot') {
          agentTyping.value = true
          window.clearTimeout(typingTimer)
          typingTimer = window.setTimeout(() => (agentTyping.value = false), TYPING_SHOW_MS)
        }
        break
      case 'error': {
        // Errors about one of our messages fail that message; connection errors (bad token…) are
        // followed by a close, handled in onClose.
        const err = (data.error ?? {}) as { code?: string; message?: string; client_msg_id?: string }
        const cmid = typeof err.client_msg_id === 'string' ? err.client_msg_id : null
        if (cmid) {
          if (err.message) showError(new ApiError(400, err.code ?? 'error', err.message))
          clearAck(cmid)
          const local = messages.value.find((x) => x.id === null && x.client_msg_id === cmid)
          if (local) {
            local.pending = false
            local.failed = true
          }
        }
        break
      }
    }
  }

  function onSocketState(state: SocketState, failures: number): void {
    if (state === 'open') {
      connection.value = 'online'
      stopPolling()
    } else if (state === 'closed') {
      connection.value = failures >= 2 ? 'polling' : 'reconnecting'
      startPolling()
    }
  }

  function startPolling(): void {
    if (pollTimer !== undefined) return
    const tick = async () => {
      if (!session.value) return
      await loadHistory()
      if (pollTimer !== undefined) pollTimer = window.setTimeout(tick, POLL_MS)
    }
    pollTimer = window.setTimeout(tick, POLL_MS)
  }

  function stopPolling(): void {
    window.clearTimeout(pollTimer)
    pollTimer = undefined
  }

  function startLive(): void {
    stopLive()
    connection.value = 'connecting'
    socket = new LiveSocket({
      url: () =>
        `/api/chat/ws?token=${encodeURIComponent(token() ?? '')}&last_id=${maxMessageId(messages.value)}`,
      onMessage: onSocket,
      onState: onSocketState,
      onClose: (code) => {
        if (code !== 4401 && code !== 4403 && code !== 4404) return true
        // The REST answer decides: session lost (→ start screen), or keep going by polling.
        void loadHistory().then((ok) => {
          if (ok && session.value) {
            connection.value = 'polling'
            startPolling()
          }
        })
        return false
      },
    })
    socket.start()
  }

  function stopLive(): void {
    socket?.stop()
    socket = null
    stopPolling()
    ackTimers.forEach((timer) => window.clearTimeout(timer))
    ackTimers.clear()
    window.clearTimeout(typingTimer)
    window.clearTimeout(botThinkingTimer)
    window.clearTimeout(queueRetry)
    botThinking.value = false
    agentTyping.value = false
  }

  const customerName = computed(() => session.value?.customer?.display_name ?? null)

  return {
    phase,
    session,
    messages,
    status,
    level,
    agentName,
    queuePosition,
    estimatedWait,
    callbackOffered,
    survey,
    refreshQueue,
    requestCallback,
    leaveQueue,
    answerSurvey,
    agentTyping,
    botThinking,
    connection,
    starting,
    demoCustomers,
    customerName,
    init,
    startSession,
    demoLogin,
    newConversation,
    signOut,
    send,
    retry,
    typing,
    stopLive,
  }
}
