// Work orders (工单): API shapes shared by the customer H5 page and the console's work-order centre,
// plus uploads and downloads (multipart and blobs, which the JSON client does not do).
import { ApiError, showError } from './api'
import { currentLocale, t } from './i18n'

export type TicketStatus =
  | 'new'
  | 'assigned'
  | 'in_progress'
  | 'pending_customer'
  | 'resolved'
  | 'closed'
  | 'cancelled'
  | 'reopened'

export interface FieldChoice {
  value: string
  label_zh: string
  label_en: string
}

export interface FieldSpec {
  name: string
  kind: 'text' | 'choice' | 'date' | 'datetime' | 'money' | 'digits4' | 'bool'
  label_zh: string
  label_en: string
  required: boolean
  choices: FieldChoice[]
  max_length: number
}

export interface TicketOptions {
  types: { type: string; label_zh: string; label_en: string; fields: FieldSpec[] }[]
  categories: { id: string; label_zh: string; label_en: string; product: string }[]
}

export interface DuplicateCandidate {
  ticket_no: string
  title: string
  status: TicketStatus
  status_label: string
  created_at: string
  score: number
  suggestion: 'follow' | 'reopen'
}

export interface CreateCheck {
  duplicates: DuplicateCandidate[]
  knowledge: { title: string; answer: string; score: number }[]
  advice: 'create' | 'follow_existing' | 'answer_from_knowledge'
}

export interface AttachmentRead {
  id: number
  filename: string
  content_type: string
  size: number
  visibility: 'internal' | 'customer'
  uploaded_by_type: string
  created_at: string
}

export interface ProgressStep {
  at: string
  kind: string
  text: string
  ticket_no: string
}

export interface CustomerProgress {
  ticket_no: string
  title: string
  type: string
  type_label: string
  category_label: string
  status: TicketStatus
  status_label: string
  stage: number
  summary: string
  next_step: string
  expected_by: string | null
  resolution: string | null
  rating: number | null
  created_at: string
  updated_at: string
  steps: ProgressStep[]
  attachments: AttachmentRead[]
  actions: { add_info: boolean; urge: boolean; cancel: boolean; confirm: boolean; reopen: boolean; rate: boolean }
  language: string
}

export interface MyTicketSummary {
  ticket_no: string
  title: string
  type: string
  type_label: string
  category_label: string
  status: TicketStatus
  status_label: string
  stage: number
  summary: string
  created_at: string
  updated_at: string
}

export interface TeamRead {
  id: number
  code: string
  name_zh: string
  name_en: string
  kind: 'department' | 'branch'
  branch_code: string | null
}

export interface TicketSummary {
  id: number
  ticket_no: string
  type: string
  category: string
  category_label: string
  priority: 'low' | 'normal' | 'high' | 'urgent'
  status: TicketStatus
  title: string
  customer: { id: number; customer_no: string; display_name: string; tier: string; is_vip: boolean }
  team: TeamRead | null
  assignee: { id: number; display_name: string } | null
  branch_code: string | null
  channel: string | null
  source: string
  parent_id: number | null
  open_subtasks: number
  urge_count: number
  created_at: string
  updated_at: string
  due_at: string | null
  sla_paused: boolean
  breached: boolean
  escalation_level: number
}

export interface TicketEvent {
  id: number
  ticket_no: string
  at: string
  actor_type: string
  actor_name: string
  kind: string
  from_status: string | null
  to_status: string | null
  note: string
  visibility: 'internal' | 'customer'
}

export interface TicketDetail {
  ticket: TicketSummary
  description: string
  fields: Record<string, unknown>
  field_labels: [string, string][]
  resolution: string | null
  conversation_id: string | null
  merged_into: string | null
  parent_no: string | null
  subtasks: TicketSummary[]
  sla: {
    due_at: string | null
    first_response_due_at: string | null
    first_response_met: boolean | null
    remaining_seconds: number | null
    paused: boolean
    warned: boolean
    breached: boolean
    resolution_met: boolean | null
    escalation_level: number
  }
  rating: number | null
  rating_comment: string | null
  timeline: TicketEvent[]
  attachments: AttachmentRead[]
  allowed_actions: string[]
}

export const STATUS_TAG: Record<string, 'primary' | 'success' | 'warning' | 'info' | 'danger'> = {
  new: 'primary',
  assigned: 'primary',
  in_progress: 'warning',
  pending_customer: 'danger',
  resolved: 'success',
  closed: 'info',
  cancelled: 'info',
  reopened: 'warning',
}

/** A label in the reader's language from a {label_zh, label_en} pair. */
export function label(item: { label_zh: string; label_en: string }): string {
  return currentLocale() === 'en' ? item.label_en : item.label_zh
}

async function failure(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code: string; message: string; details?: unknown } }
    if (body.error) return new ApiError(res.status, body.error.code, body.error.message, body.error.details)
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, 'http_error', t('common.httpError', { status: res.status }))
}

/** POST a file as multipart/form-data; the server checks its type from the bytes and its size. */
export async function uploadFile<T>(path: string, token: string, file: File, extra: Record<string, string> = {}): Promise<T> {
  const form = new FormData()
  form.append('file', file)
  for (const [k, v] of Object.entries(extra)) form.append(k, v)
  const res = await fetch(path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Accept-Language': currentLocale() },
    body: form,
  })
  if (res.ok) return (await res.json()) as T
  const error = await failure(res)
  showError(error)
  throw error
}

/** Download an attachment with the bearer token and hand it to the browser. */
export async function downloadFile(path: string, token: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } })
  if (!res.ok) {
    showError(await failure(res))
    return
  }
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`
}
