// A WebSocket that stays connected: exponential back-off with jitter, a fresh URL on every attempt
// (so the caller can put the latest last_id in it), keep-alive pings, and immediate retry when the
// browser comes back online or the tab becomes visible.

export type SocketState = 'idle' | 'connecting' | 'open' | 'closed'

export interface LiveSocketOptions {
  /** Path with query, e.g. `/api/chat/ws?token=…&last_id=12`; called before every attempt. */
  url: () => string
  onMessage: (data: Record<string, unknown>) => void
  onState?: (state: SocketState, failures: number) => void
  /** Called when the server closes the socket; return false to stop reconnecting (e.g. 4401 bad token). */
  onClose?: (code: number) => boolean | void
  pingMs?: number
  minDelayMs?: number
  maxDelayMs?: number
}

export function wsUrl(path: string): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${window.location.host}${path}`
}

export class LiveSocket {
  private ws: WebSocket | null = null
  private retryTimer: number | undefined
  private pingTimer: number | undefined
  private stableTimer: number | undefined
  private stopped = true
  /** Consecutive attempts that did not reach a stable connection. */
  failures = 0
  state: SocketState = 'idle'

  constructor(private readonly opts: LiveSocketOptions) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    window.addEventListener('online', this.wake)
    document.addEventListener('visibilitychange', this.wake)
    this.connect()
  }

  stop(): void {
    this.stopped = true
    window.removeEventListener('online', this.wake)
    document.removeEventListener('visibilitychange', this.wake)
    this.clearTimers()
    const ws = this.ws
    this.ws = null
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000)
    this.setState('idle')
  }

  /** Drop the connection and connect again at once (e.g. after the token changed). */
  restart(): void {
    this.stop()
    this.failures = 0
    this.start()
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  send(data: Record<string, unknown>): boolean {
    if (!this.isOpen || !this.ws) return false
    this.ws.send(JSON.stringify(data))
    return true
  }

  private readonly wake = (): void => {
    if (this.stopped || document.visibilityState === 'hidden') return
    if (this.state === 'closed' && this.retryTimer !== undefined) {
      window.clearTimeout(this.retryTimer)
      this.retryTimer = undefined
      this.connect()
    }
  }

  private setState(state: SocketState): void {
    this.state = state
    this.opts.onState?.(state, this.failures)
  }

  private clearTimers(): void {
    window.clearTimeout(this.retryTimer)
    window.clearInterval(this.pingTimer)
    window.clearTimeout(this.stableTimer)
    this.retryTimer = this.pingTimer = this.stableTimer = undefined
  }

  private connect(): void {
    this.clearTimers()
    this.setState('connecting')
    let ws: WebSocket
    try {
      ws = new WebSocket(wsUrl(this.opts.url()))
    } catch {
      this.scheduleRetry()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      if (ws !== this.ws) return
      this.setState('open')
      this.pingTimer = window.setInterval(() => this.send({ type: 'ping' }), this.opts.pingMs ?? 25_000)
      // A server that accepts and then closes at once (bad token) must not reset the back-off.
      this.stableTimer = window.setTimeout(() => (this.failures = 0), 5_000)
    }
    ws.onmessage = (event) => {
      if (ws !== this.ws) return
      let data: unknown
      try {
        data = JSON.parse(String(event.data))
      } catch {
        return
      }
      if (data && typeof data === 'object') this.opts.onMessage(data as Record<string, unknown>)
    }
    ws.onclose = (event) => {
      if (ws !== this.ws) return
      this.ws = null
      window.clearInterval(this.pingTimer)
      window.clearTimeout(this.stableTimer)
      if (this.stopped) return
      if (this.opts.onClose?.(event.code) === false) {
        this.stop()
        return
      }
      this.scheduleRetry()
    }
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    }
  }

  private scheduleRetry(): void {
    this.failures += 1
    this.setState('closed')
    const min = this.opts.minDelayMs ?? 1_000
    const max = this.opts.maxDelayMs ?? 30_000
    const base = Math.min(max, min * 2 ** Math.min(this.failures - 1, 10))
    const delay = base * (0.75 + Math.random() * 0.5)
    this.retryTimer = window.setTimeout(() => this.connect(), delay)
  }
}
