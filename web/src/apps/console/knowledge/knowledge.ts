// Knowledge base helpers shared by the console pages: metadata (cached), status tags, intent labels.
import { reactive } from 'vue'
import { currentLocale, t } from '@/shared/i18n'
import type { TagType } from '@/shared/labels'
import { staffApi as api } from '@/shared/staff'
import type { IntentOption, KbProduct, KbStatus, KnowledgeMeta } from './types'

const state = reactive<{ meta: KnowledgeMeta | null }>({ meta: null })

/** GET /api/knowledge/meta once per page load (categories refresh when `force`). */
export async function loadMeta(force = false): Promise<KnowledgeMeta | null> {
  if (state.meta && !force) return state.meta
  try {
    state.meta = await api.get<KnowledgeMeta>('/api/knowledge/meta')
  } catch {
    /* shown by the client */
  }
  return state.meta
}

export function useMeta() {
  return state
}

const STATUS_TAG: Record<KbStatus, TagType> = {
  draft: 'info',
  in_review: 'warning',
  published: 'success',
  archived: 'danger',
}

export function statusTag(status: string): TagType {
  return STATUS_TAG[status as KbStatus] ?? 'info'
}

export function statusText(status: string): string {
  return t(`console.knowledge.status.${status}`)
}

export function intentLabel(id: string | null | undefined, intents: IntentOption[] = state.meta?.intents ?? []): string {
  if (!id) return '—'
  const intent = intents.find((i) => i.id === id)
  if (!intent) return id
  return currentLocale() === 'en' ? intent.en : intent.zh
}

/**
 * Products ↔ their text form, as in import files: one product per line (or separated by ";"), its other
 * names after "/" — "灵犀现金宝 A / 现金宝". The server validates and de-duplicates.
 */
export function parseProducts(text: string): KbProduct[] {
  return text
    .split(/[;；\r\n]/)
    .map((line) => line.split(/[/／]/).map((part) => part.replace(/\s+/g, ' ').trim()).filter(Boolean))
    .filter((names) => names.length > 0)
    .map(([name, ...aliases]) => ({ name, aliases }))
}

export function productsText(products: KbProduct[]): string {
  return products.map((p) => [p.name, ...p.aliases].join(' / ')).join('\n')
}

export function channelText(channel: string): string {
  return t(`console.knowledge.channels.${channel}`)
}
