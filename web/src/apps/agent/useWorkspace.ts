// State of the agent workspace: conversation lists per scope, the open conversation, and live
// updates over /api/agent/ws (REST re-reads when the socket is down or an event says something changed).
import { computed, reactive, ref, watch } from 'vue'
import { ElMessageBox, ElNotification } from 'element-plus'
import { ApiError, itemsOf } from '@/shared/api'
import { t } from '@/shared/i18n'
import { clientMsgId } from '@/shared/ids'
import { mergeMessage, mergeMessages, pendingMessage } from '@/shared/messages'
import { Perm } from '@/shared/permissions'
import { hasPerm, refreshMe, staff, staffApi as api } from '@/shared/staff'
import { LiveSocket, type SocketState } from '@/shared/ws'
import type {
  ChatMessage,
  ConversationDetail,
  ConversationStatus,
  ConversationSummary,
  MessageRead,
} from '@/shared/types'
import type { NoteRead, Presence, PresenceRead } from '@/shared/routingTypes'

export type Scope = 'mine' | 'queued' | 'all'

const LIST_POLL_MS = 15_000
const FAST_POLL_MS = 5_000 // socket down, or an open conversation whose messages are not pushed to us
const TYPING_SHOW_MS = 5_000

export function useWorkspace() {
  // 全部: every conversation for monitors; for agents, theirs plus those waiting (bot / queued).
  const scopes: Scope[] = ['mine', 'queued', 'all']
  const scope = ref<Scope>('mine')
  const conversations = ref<ConversationSummary[]>([])
  const listLoading = ref(false)
  const queuedCount = ref(0)
  const unread = reactive(new Set<string>())

  const selectedId = ref<string | null>(null)
  const current = ref<ConversationSummary | null>(null)
  const messages = ref<ChatMessage[]>([])
  const detailLoading = ref(false)
  const customerTyping = ref(false)
  const live = ref<SocketState>('idle')
  // Routing: my presence and load, my open chats (tabs), staff-only notes of the open chat, and the
  // chat just closed that still needs its wrap-up code.
  const presence = ref<PresenceRead | null>(null)
  const myChats = ref<ConversationSummary[]>([])
  const notes = ref<NoteRead[]>([])
  const wrapUpFor = ref<string | null>(null)

  let socket: LiveSocket | null = null
  let refreshTimer: number | undefined
  let pollTimer: number | undefined
  let typingTimer: number | undefined
  let listSeq = 0

  const myId = computed(() => staff.user?.id)
  const isMine = (c: ConversationSummary | null) =>
    !!c && c.assigned_agent !== null && String(c.assigned_agent.id) === String(myId.value)
  const canAccept = computed(
    () => !!current.value && (current.value.status === 'queued' || current.value.status === 'bot'),
  )
  const canReply = computed(() => !!current.value && current.value.status === 'assigned' && isMine(current.value))
  const canClose = computed(() => !!current.value && current.value.status !== 'closed' && isMine(current.value))

  // ---- lists ---------------------------------------------------------------------------------

  async function refreshList(quiet = false): Promise<void> {
    const seq = ++listSeq
    if (!quiet) listLoading.value = true
    try {
      const [list, queued] = await Promise.all([
        api.get<{ items: ConversationSummary[] }>('/api/agent/conversations', {
          query: { scope: scope.value },
          silent: quiet,
        }),
        scope.value === 'queued'
          ? null
          : api
              .get<{ items: ConversationSummary[] }>('/api/agent/conversations', { query: { scope: 'queued' }, silent: true })
              .catch(() => null),
      ])
      if (seq !== listSeq) return // a newer request (scope switch) won
      conversations.value = sortConversations(itemsOf(list))
      void refreshMyChats()
      queuedCount.value = scope.value === 'queued' ? conversations.value.length : queued ? itemsOf(queued).length : 0
      const fresh = conversations.value.find((c) => c.id === selectedId.value)
      if (fresh && current.value) current.value = { ...current.value, ...fresh }
    } catch {
      /* shown by the api client unless quiet */
    } finally {
      if (seq === listSeq) listLoading.value = false
    }
  }

  // Chats we already know to be ours; any other that shows up was pushed to us by the router.
  let knownMine: Set<string> | null = null

  async function refreshMyChats(): Promise<void> {
    try {
      const mine = await api.get<{ items: ConversationSummary[] }>('/api/agent/conversations', {
        query: { scope: 'mine' },
        silent: true,
      })
      myChats.value = sortConversations(itemsOf(mine)).reverse() // oldest first: tabs keep their place
      if (knownMine === null) {
        knownMine = new Set(myChats.value.map((c) => c.id)) // the first load is not news
        return
      }
      for (const c of myChats.value) if (!knownMine.has(c.id)) announceAssigned(c)
    } catch {
      /* next refresh */
    }
  }

  /** A chat the router pushed to us: say so, and open it unless the agent is in another live chat. */
  function announceAssigned(c: ConversationSummary): void {
    knownMine?.add(c.id)
    ElNotification({
      type: 'info',
      title: t('workspace.tabs'),
      message: t('workspace.newAssigned', {
        name: c.customer?.display_name || t('agent.visitor', { id: c.id.slice(0, 6) }),
      }),
      duration: 4000,
    })
    if (!selectedId.value || current.value?.status === 'closed') void open(c.id)
  }

  // ---- presence ------------------------------------------------------------------------------

  async function loadPresence(): Promise<void> {
    try {
      presence.value = await api.get<PresenceRead>('/api/agent/presence', { silent: true })
    } catch {
      /* shown elsewhere */
    }
  }

  async function setPresence(value: Presence, reason: string | null = null): Promise<void> {
    try {
      presence.value = await api.put<PresenceRead>('/api/agent/presence', { presence: value, reason })
    } catch {
      /* shown */
    }
  }

  // ---- notes, transfer, invite, wrap-up ------------------------------------------------------

  async function loadNotes(id: string): Promise<void> {
    try {
      const res = await api.get<{ items: NoteRead[] }>(`/api/agent/conversations/${encodeURIComponent(id)}/notes`, {
        silent: true,
      })
      if (selectedId.value === id) notes.value = res.items
    } catch {
      /* not visible any more */
    }
  }

  async function transfer(body: { to_agent_id?: number; to_group?: string; note: string }): Promise<boolean> {
    const c = current.value
    if (!c) return false
    try {
      const updated = await api.post<ConversationSummary>(
        `/api/agent/conversations/${encodeURIComponent(c.id)}/transfer`,
        body,
      )
      upsertConversation(updated)
      current.value = updated
      refreshSoon()
      void loadPresence()
      return true
    } catch {
      return false
    }
  }

  async function invite(text: string): Promise<boolean> {
    const c = current.value
    if (!c) return false
    try {
      const note = await api.post<NoteRead>(`/api/agent/conversations/${encodeURIComponent(c.id)}/invite`, { text })
      if (!notes.value.some((n) => n.id === note.id)) notes.value.push(note)
      return true
    } catch {
      return false
    }
  }

  async function wrapUp(code: string, note: string | null): Promise<boolean> {
    const id = wrapUpFor.value
    if (!id) return false
    try {
      await api.post(`/api/agent/conversations/${encodeURIComponent(id)}/wrap-up`, { code, note })
      wrapUpFor.value = null
      void loadPresence()
      return true
    } catch {
      return false
    }
  }

  function sortConversations(items: ConversationSummary[]): ConversationSummary[] {
    const key = (c: ConversationSummary) => c.last_message_at ?? c.started_at ?? ''
    return [...items].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0))
  }

  function refreshSoon(): void {
    window.clearTimeout(refreshTimer)
    refreshTimer = window.setTimeout(() => void refreshList(true), 300)
  }

  function belongs(c: ConversationSummary): boolean {
    if (scope.value === 'queued') return c.status === 'queued'
    if (scope.value === 'mine') return isMine(c) && c.status === 'assigned'
    return hasPerm(Perm.CHAT_MONITOR) || isMine(c) || c.status === 'bot' || c.status === 'queued'
  }

  function upsertConversation(c: ConversationSummary): void {
    const i = conversations.value.findIndex((x) => x.id === c.id)
    if (belongs(c)) {
      if (i >= 0) conversations.value[i] = { ...conversations.value[i], ...c }
      else conversations.value.unshift(c)
      conversations.value = sortConversations(conversations.value)
    } else if (i >= 0) {
      conversations.value.splice(i, 1)
    }
    if (current.value?.id === c.id) current.value = { ...current.value, ...c }
  }

  watch(scope, () => {
    conversations.value = []
    void refreshList()
  })

  // ---- the open conversation -----------------------------------------------------------------

  async function open(id: string): Promise<void> {
    selectedId.value = id
    unread.delete(id)
    customerTyping.value = false
    const same = current.value?.id === id // re-reading the open conversation: keep it on screen
    current.value = conversations.value.find((c) => c.id === id) ?? (same ? current.value : null)
    if (!same) {
      messages.value = []
      notes.value = []
    }
    void loadNotes(id)
    detailLoading.value = true
    try {
      const detail = await api.get<ConversationDetail>(`/api/agent/conversations/${encodeURIComponent(id)}`)
      if (selectedId.value !== id) return
      current.value = detail.conversation
      if (!same) messages.value = []
      mergeMessages(messages.value, detail.messages ?? [])
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && selectedId.value === id) {
        selectedId.value = null
        current.value = null
      }
    } finally {
      if (selectedId.value === id) detailLoading.value = false
      schedulePoll() // poll faster while a conversation that is not ours is open
    }
  }

  async function accept(): Promise<void> {
    const c = current.value
    if (!c) return
    try {
      const updated = await api.post<ConversationSummary>(`/api/agent/conversations/${encodeURIComponent(c.id)}/accept`)
      knownMine?.add(c.id) // taken by hand: no "assigned to you" notice
      current.value = updated
      if (scope.value === 'queued') scope.value = 'mine' // it is ours now; the watcher re-reads the list
      else {
        upsertConversation(updated)
        refreshSoon()
      }
      void open(c.id) // re-read: accepting added the "客服 X 已接入" system message
    } catch {
      /* shown */
    }
  }

  async function close(): Promise<void> {
    const c = current.value
    if (!c) return
    try {
      await ElMessageBox.confirm(t('agent.closeConfirm'), t('agent.close'), {
        type: 'warning',
        confirmButtonText: t('agent.close'),
        cancelButtonText: t('common.cancel'),
      })
    } catch {
      return // cancelled
    }
    try {
      const updated = await api.post<ConversationSummary>(`/api/agent/conversations/${encodeURIComponent(c.id)}/close`)
      upsertConversation(updated)
      current.value = updated
      refreshSoon()
      wrapUpFor.value = c.id // after-contact work: the agent records the outcome
      void loadPresence()
    } catch {
      /* shown */
    }
  }

  async function postMessage(conversationId: string, cmid: string, text: string): Promise<void> {
    try {
      const m = await api.post<MessageRead>(`/api/agent/conversations/${encodeURIComponent(conversationId)}/messages`, {
        client_msg_id: cmid,
        text,
      })
      if (selectedId.value === conversationId) mergeMessage(messages.value, m)
      touchList(conversationId, m)
    } catch {
      const local = messages.value.find((x) => x.id === null && x.client_msg_id === cmid)
      if (local) {
        local.pending = false
        local.failed = true
      }
    }
  }

  function send(text: string): void {
    const c = current.value
    if (!c || !canReply.value) return
    const cmid = clientMsgId()
    messages.value.push(
      pendingMessage({
        clientMsgId: cmid,
        text,
        conversationId: c.id,
        senderType: 'agent',
        senderName: staff.user?.display_name,
      }),
    )
    void postMessage(c.id, cmid, text)
  }

  function retry(m: ChatMessage): void {
    if (!m.client_msg_id || !current.value) return
    m.failed = false
    m.pending = true
    void postMessage(current.value.id, m.client_msg_id, m.content)
  }

  function typing(): void {
    if (current.value) socket?.send({ type: 'typing', conversation_id: current.value.id })
  }

  // ---- live updates --------------------------------------------------------------------------

  function touchList(conversationId: string, m: MessageRead): void {
    const c = conversations.value.find((x) => x.id === conversationId)
    if (c) {
      c.last_message = m
      c.last_message_at = m.created_at
      conversations.value = sortConversations(conversations.value)
    }
  }

  function onSocket(data: Record<string, unknown>): void {
    switch (data.type) {
      case 'message': {
        const m = data.message as MessageRead | undefined
        if (!m) break
        const cid = (data.conversation_id as string | undefined) ?? m.conversation_id
        if (cid === selectedId.value) {
          mergeMessage(messages.value, m)
          if (m.sender_type === 'customer') customerTyping.value = false
        } else if (m.sender_type === 'customer') {
          unread.add(cid)
        }
        if (conversations.value.some((c) => c.id === cid)) touchList(cid, m)
        else refreshSoon()
        break
      }
      case 'conversation': {
        // A full summary (contract) or just {conversation_id, status}: apply what we get, then re-read.
        if (data.agent_id !== undefined && String(data.agent_id) === String(myId.value)) void loadPresence()
        const c = data.conversation as ConversationSummary | undefined
        if (c) upsertConversation(c)
        else if (typeof data.conversation_id === 'string' && typeof data.status === 'string') {
          const status = data.status as ConversationStatus
          const known = conversations.value.find((x) => x.id === data.conversation_id)
          if (known) known.status = status
          if (current.value?.id === data.conversation_id) {
            current.value = { ...current.value, status }
            void refreshOpen()
          }
        }
        refreshSoon()
        break
      }
      case 'presence':
        if (String(data.agent_id) === String(myId.value)) void loadPresence()
        break
      case 'note': {
        const note = data.note as NoteRead | undefined
        if (!note) break
        if (data.conversation_id === selectedId.value && !notes.value.some((n) => n.id === note.id)) {
          notes.value.push(note)
        }
        if (note.kind === 'whisper' && String(note.to_agent_id) === String(myId.value)) {
          ElNotification({
            type: 'warning',
            title: t('workspace.noteKind.whisper'),
            message: t('workspace.whisperFrom', { name: note.author_name, text: note.text }),
            duration: 8000,
          })
        }
        break
      }
      case 'typing':
        if (data.conversation_id === selectedId.value && data.sender_type !== 'agent') {
          customerTyping.value = true
          window.clearTimeout(typingTimer)
          typingTimer = window.setTimeout(() => (customerTyping.value = false), TYPING_SHOW_MS)
        }
        break
    }
  }

  function schedulePoll(): void {
    window.clearTimeout(pollTimer)
    pollTimer = window.setTimeout(
      async () => {
        await refreshList(true)
        // Re-read the open conversation when no live events come for it: socket down, or a
        // conversation that is not ours yet (its messages are not pushed to us).
        if (selectedId.value && (live.value !== 'open' || !isMine(current.value))) await refreshOpen()
        schedulePoll()
      },
      live.value !== 'open' || (current.value !== null && !isMine(current.value)) ? FAST_POLL_MS : LIST_POLL_MS,
    )
  }

  async function refreshOpen(): Promise<void> {
    const id = selectedId.value
    if (!id) return
    try {
      const detail = await api.get<ConversationDetail>(`/api/agent/conversations/${encodeURIComponent(id)}`, {
        silent: true,
      })
      if (selectedId.value !== id) return
      current.value = detail.conversation
      mergeMessages(messages.value, detail.messages ?? [])
    } catch {
      /* next poll */
    }
  }

  function start(): void {
    void refreshList()
    void loadPresence()
    socket = new LiveSocket({
      url: () => `/api/agent/ws?token=${encodeURIComponent(staff.token ?? '')}`,
      onMessage: onSocket,
      // 4401: token expired → /api/auth/me answers 401 and sends us to the login page.
      onClose: (code) => {
        if (code === 4401) void refreshMe()
        return code !== 4401 && code !== 4403
      },
      onState: (state) => {
        const wasOpen = live.value === 'open'
        live.value = state
        if (state === 'open' && !wasOpen) {
          // Catch up on whatever happened while we were away.
          refreshSoon()
          void refreshOpen()
        }
        schedulePoll()
      },
    })
    socket.start()
    schedulePoll()
  }

  function stop(): void {
    socket?.stop()
    socket = null
    window.clearTimeout(refreshTimer)
    window.clearTimeout(pollTimer)
    window.clearTimeout(typingTimer)
  }

  return {
    scopes,
    scope,
    conversations,
    listLoading,
    queuedCount,
    unread,
    selectedId,
    current,
    messages,
    detailLoading,
    customerTyping,
    live,
    canAccept,
    canReply,
    canClose,
    presence,
    myChats,
    notes,
    wrapUpFor,
    isMine,
    setPresence,
    loadPresence,
    transfer,
    invite,
    wrapUp,
    refreshList,
    open,
    accept,
    close,
    send,
    retry,
    typing,
    start,
    stop,
  }
}
