// The one HTTP client: JSON in and out, bearer token, and the API's error shape
// {"error": {code, message, details}} turned into an ApiError and shown with ElMessage.
import { ElMessage } from 'element-plus'
import { currentLocale, t } from './i18n'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** true: never show the error; a function: show it unless it returns true. */
  silent?: boolean | ((error: ApiError) => boolean)
  /** Override the client's token (e.g. a customer session token). */
  token?: string | null
  signal?: AbortSignal
  /** Answer the body as a file ({blob, filename}) instead of parsing JSON (downloads). */
  raw?: boolean
}

export interface Download {
  blob: Blob
  filename: string
}

async function downloaded(res: Response): Promise<Download> {
  const disposition = res.headers.get('Content-Disposition') ?? ''
  const match = /filename="?([^";]+)"?/.exec(disposition)
  return { blob: await res.blob(), filename: match?.[1] ?? 'download' }
}

/** Hand a downloaded file to the browser (an object URL on a temporary link). */
export function saveFile({ blob, filename }: Download): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export interface ApiClientOptions {
  token?: () => string | null
  /** Called on 401 from a request that carried a token (session expired or revoked). */
  onUnauthenticated?: (error: ApiError) => void
}

export function buildUrl(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    /* not JSON (proxy error page) */
  }
  const err = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error
  if (err && typeof err.message === 'string') {
    return new ApiError(res.status, err.code ?? 'error', err.message, err.details ?? null)
  }
  const detail = (body as { detail?: unknown } | null)?.detail // FastAPI's default shape, just in case
  const message = typeof detail === 'string' ? detail : t('common.httpError', { status: res.status })
  return new ApiError(res.status, res.status === 404 ? 'not_found' : 'http_error', message, detail ?? null)
}

export function showError(error: unknown): void {
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error)
  ElMessage({ type: 'error', message, grouping: true, showClose: true })
}

export function createApi(options: ApiClientOptions = {}) {
  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const token = opts.token !== undefined ? opts.token : (options.token?.() ?? null)
    const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Language': currentLocale() }
    if (token) headers.Authorization = `Bearer ${token}`
    // FormData (file uploads) sets its own multipart Content-Type with the boundary.
    const isForm = typeof FormData !== 'undefined' && opts.body instanceof FormData
    if (opts.body !== undefined && !isForm) headers['Content-Type'] = 'application/json'
    let error: ApiError
    try {
      const res = await fetch(buildUrl(path, opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : isForm ? (opts.body as FormData) : JSON.stringify(opts.body),
        signal: opts.signal,
      })
      if (res.ok) {
        if (opts.raw) return (await downloaded(res)) as T
        if (res.status === 204) return undefined as T
        const text = await res.text()
        return (text ? JSON.parse(text) : undefined) as T
      }
      error = await toApiError(res)
      if (res.status === 401 && token) options.onUnauthenticated?.(error)
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e
      error = new ApiError(0, 'network_error', t('common.networkError'))
    }
    const silent = typeof opts.silent === 'function' ? opts.silent(error) : opts.silent
    if (!silent) showError(error)
    throw error
  }

  return {
    request,
    get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
    post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, body }),
    put: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, body }),
    patch: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PATCH', path, { ...opts, body }),
    delete: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
    /** POST a file as multipart/form-data (field name `file`). */
    upload: <T>(path: string, file: File | Blob, filename: string, opts?: RequestOptions) => {
      const form = new FormData()
      form.append('file', file, filename)
      return request<T>('POST', path, { ...opts, body: form })
    },
    download: (path: string, opts?: RequestOptions) => request<Download>('GET', path, { ...opts, raw: true }),
  }
}

export type ApiClient = ReturnType<typeof createApi>

/** A list endpoint answers {"items": [...]}; tolerate a bare array too. */
export function itemsOf<T>(data: { items?: T[] } | T[] | null | undefined): T[] {
  if (Array.isArray(data)) return data
  return data?.items ?? []
}
