// Labels and value formatting for records whose exact shape another service owns (customer 360,
// audit rows): known keys get a translated label and a suitable format, unknown keys still show.
import { t, tOr } from './i18n'
import { channelLabel } from './labels'
import { formatAmount, formatTime } from './time'

const AMOUNT_KEYS = /(amount|balance|limit|principal|outstanding|payment|available|market_value|cost|total|paid|profit)$/
const TIME_KEYS = /(_at|_time)$/
/** Keys whose values are codes with a translated label in fields.values. */
const CODED_KEYS = new Set(['status', 'state', 'tier', 'segment', 'kind', 'type', 'language', 'role', 'gender', 'id_type'])
const DATE_KEYS = /(date|_on|expiry|expires|maturity)$/

export function fieldLabel(key: string): string {
  return tOr(`fields.${key}`, key.replace(/_/g, ' '))
}

export function isEmptyValue(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0)
  )
}

export function formatValue(key: string, value: unknown, row?: Record<string, unknown>): string {
  if (value === null || value === undefined || value === '') return '—'
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no')
  if (key === 'channel') return channelLabel(String(value))
  if (CODED_KEYS.has(key)) return tOr(`fields.values.${value}`, String(value))
  if (key === 'preferred_channel') return channelLabel(String(value))
  if ((typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))) && AMOUNT_KEYS.test(key)) {
    const currency = typeof row?.currency === 'string' ? row.currency : null
    return formatAmount(value, currency)
  }
  if (typeof value === 'string' && TIME_KEYS.test(key)) return formatTime(value, 'datetime')
  if (typeof value === 'string' && DATE_KEYS.test(key) && /^\d{4}-\d{2}-\d{2}/.test(value)) return value.slice(0, 10)
  if (/rate|ratio|percent/.test(key) && !Number.isNaN(Number(value))) {
    const n = Number(value)
    return `${(n <= 1 ? n * 100 : n).toFixed(2)}%`
  }
  if (Array.isArray(value)) {
    if (value.some((v) => v && typeof v === 'object')) return t('common.itemsCount', { n: value.length })
    return value.map((v) => formatValue(key, v)).join('、')
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>
    for (const k of ['content', 'display_name', 'name', 'label', 'title']) if (typeof o[k] === 'string') return o[k] as string
    return JSON.stringify(value)
  }
  return String(value)
}

/** Masked values contain the mask character; those are the ones an agent may reveal. */
export function isMasked(value: unknown): boolean {
  return typeof value === 'string' && value.includes('*')
}

export function lastDigits(value: unknown, n = 4): string {
  const digits = String(value ?? '').replace(/\D/g, '')
  return digits.slice(-n)
}
