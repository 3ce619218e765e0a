// Timestamps come as timezone-aware UTC ISO strings; people see the bank's local time (Asia/Shanghai).
import { currentLocale } from './i18n'

export const BANK_TIMEZONE = 'Asia/Shanghai'

const formatters = new Map<string, Intl.DateTimeFormat>()

function parts(date: Date): Record<string, string> {
  let fmt = formatters.get('parts')
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-GB', {
      timeZone: BANK_TIMEZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set('parts', fmt)
  }
  const out: Record<string, string> = {}
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value
  return out
}

export function parseTime(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null
  if (value instanceof Date) return value
  if (typeof value === 'number') return new Date(value)
  // A timestamp without an offset is UTC (that is what the server stores).
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) || !value.includes('T') ? value : `${value}Z`
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? null : d
}

export type TimeStyle = 'time' | 'datetime' | 'date' | 'smart' | 'full'

/** Format in bank local time. `smart`: HH:mm today, MM-DD HH:mm this year, else YYYY-MM-DD HH:mm. */
export function formatTime(value: string | number | Date | null | undefined, style: TimeStyle = 'smart'): string {
  const d = parseTime(value)
  if (!d) return typeof value === 'string' ? value : ''
  const p = parts(d)
  const date = `${p.year}-${p.month}-${p.day}`
  const hm = `${p.hour}:${p.minute}`
  switch (style) {
    case 'time':
      return hm
    case 'date':
      return date
    case 'datetime':
      return `${date} ${hm}`
    case 'full':
      return `${date} ${hm}:${p.second}`
    case 'smart': {
      const now = parts(new Date())
      if (now.year === p.year && now.month === p.month && now.day === p.day) return hm
      return now.year === p.year ? `${p.month}-${p.day} ${hm}` : `${date} ${hm}`
    }
  }
}

/** Amounts in yuan with thousands separators, in the reader's language. */
export function formatAmount(value: unknown, currency?: string | null): string {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN
  if (Number.isNaN(n)) return String(value ?? '')
  const text = n.toLocaleString(currentLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  return currency && currency !== 'CNY' ? `${currency} ${text}` : text
}
