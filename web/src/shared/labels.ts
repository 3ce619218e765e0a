// Display helpers for enumerations the API sends as codes (channels, statuses, levels, roles).
import { t, tOr } from './i18n'

/** Channel codes → one of the five tags people know: 网页 / APP / 微信 / 短信 / 电话. */
export function channelKey(channel: string | null | undefined): string {
  const c = (channel ?? '').toLowerCase()
  if (c.includes('wechat') || c === 'wx') return 'wechat'
  if (c.includes('sms')) return 'sms'
  if (c.includes('phone') || c.includes('ivr') || c.includes('voice') || c.includes('call')) return 'phone'
  if (c.includes('app')) return 'app'
  if (c.includes('web') || c.includes('chat') || c === 'h5') return 'web'
  return c || 'web'
}

export function channelLabel(channel: string | null | undefined): string {
  const key = channelKey(channel)
  return tOr(`channel.${key}`, channel ?? '')
}

export type TagType = 'primary' | 'success' | 'warning' | 'info' | 'danger'

const CHANNEL_TAG: Record<string, TagType> = { web: 'primary', app: 'primary', wechat: 'success', sms: 'warning', phone: 'danger' }
const STATUS_TAG: Record<string, TagType> = { bot: 'info', queued: 'warning', assigned: 'success', closed: 'info' }

export function channelTagType(channel: string | null | undefined): TagType {
  return CHANNEL_TAG[channelKey(channel)] ?? 'info'
}

export function statusLabel(status: string | null | undefined): string {
  return tOr(`status.${status}`, status ?? '')
}

export function statusTagType(status: string | null | undefined): TagType {
  return STATUS_TAG[status ?? ''] ?? 'info'
}

export function levelLabel(level: string | null | undefined): string {
  return tOr(`level.${level}`, level ?? '')
}

export function roleLabel(role: string | null | undefined): string {
  return tOr(`role.${role}`, role ?? '')
}

export function senderDefaultName(senderType: string): string {
  return t(`sender.${senderType}`)
}
