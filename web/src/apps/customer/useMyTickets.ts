// The customer's work orders, with the session token of their chat (an app log-in identifies them).
import { computed } from 'vue'
import { createApi } from '@/shared/api'
import type { ChatSession } from '@/shared/types'
import {
  downloadFile,
  uploadFile,
  type CreateCheck,
  type CustomerProgress,
  type MyTicketSummary,
  type TicketOptions,
} from '@/shared/tickets'

const SESSION_KEY = 'lingxi.chat.session' // written by useChat

export function storedSession(): ChatSession | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY)
    const s = raw ? (JSON.parse(raw) as ChatSession) : null
    return s?.session_token ? s : null
  } catch {
    return null
  }
}

export interface NewTicket {
  type: string
  category: string
  title: string
  description: string
  fields: Record<string, unknown>
  acknowledge_duplicates?: boolean
}

export function useMyTickets() {
  const session = storedSession()
  const token = session?.session_token ?? null
  const api = createApi({ token: () => token })
  const identified = computed(() => Boolean(session?.customer))
  const base = '/api/my/tickets'
  const path = (no: string, action = '') => `${base}/${encodeURIComponent(no)}${action ? `/${action}` : ''}`

  return {
    identified,
    customerName: session?.customer?.display_name ?? null,
    list: () => api.get<{ items: MyTicketSummary[] }>(base).then((r) => r.items),
    options: () => api.get<TicketOptions>(`${base}/options`),
    check: (body: Omit<NewTicket, 'fields' | 'acknowledge_duplicates'>) => api.post<CreateCheck>(`${base}/check`, body),
    create: (body: NewTicket) => api.post<CustomerProgress>(base, body, { silent: (e) => e.code === 'duplicate_suspected' }),
    get: (no: string) => api.get<CustomerProgress>(path(no)),
    addInfo: (no: string, text: string) => api.post<CustomerProgress>(path(no, 'info'), { text }),
    urge: (no: string) => api.post<CustomerProgress>(path(no, 'urge')),
    cancel: (no: string, reason: string) => api.post<CustomerProgress>(path(no, 'cancel'), { reason }),
    confirm: (no: string) => api.post<CustomerProgress>(path(no, 'confirm')),
    reopen: (no: string, reason: string) => api.post<CustomerProgress>(path(no, 'reopen'), { reason }),
    rate: (no: string, score: number, comment: string) => api.post<CustomerProgress>(path(no, 'rating'), { score, comment }),
    upload: (no: string, file: File) => uploadFile<CustomerProgress>(path(no, 'attachments'), token ?? '', file),
    download: (no: string, id: number, filename: string) =>
      downloadFile(path(no, `attachments/${id}`), token ?? '', filename),
  }
}
