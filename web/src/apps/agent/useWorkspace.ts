// State of the agent workspace: conversation lists per scope, the open conversation, and live
// updates over /api/agent/ws (REST re-reads when the socket is down or an event says something changed).
import { computed, reactive, ref, watch } from 'vue'
import { ElMessageBox } from 'element-plus'
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
      queuedCount.value = scope.value === 'queued' ? conversations.value.length : queued ? itemsOf(queued).length : 0
      const fresh = conversations.value.find((c) => c.id === selectedId.value)
      if (fresh && current.value) current.value = { ...current.value, ...fresh }
    } catch {
      /* shown by the api client unless quiet */
    } finally {
      if (seq === listSeq) listLoading.value = false
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
    if (!same) messages.value = []
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
    isMine,
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
