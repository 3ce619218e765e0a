// vue-i18n setup shared by the three apps: zh-CN first, English available, choice kept per browser.
import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import epZhCn from 'element-plus/es/locale/lang/zh-cn'
import epEn from 'element-plus/es/locale/lang/en'
import zhCN from './locales/zh-CN'
import en from './locales/en'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']
const STORAGE_KEY = 'lingxi.locale'

function normalise(value: string | null | undefined): Locale | null {
  if (!value) return null
  const v = value.toLowerCase()
  if (v.startsWith('zh')) return 'zh-CN'
  if (v.startsWith('en')) return 'en'
  return null
}

function initialLocale(): Locale {
  const fromUrl = normalise(new URLSearchParams(window.location.search).get('lang'))
  return fromUrl ?? normalise(safeStorage(() => localStorage.getItem(STORAGE_KEY))) ?? 'zh-CN'
}

function safeStorage<T>(fn: () => T): T | null {
  try {
    return fn()
  } catch {
    return null // storage disabled (private mode, embedded web views)
  }
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

document.documentElement.lang = i18n.global.locale.value

/** Translate outside components (API client, stores). */
export function t(key: string, named?: Record<string, unknown>): string {
  return named ? i18n.global.t(key, named) : i18n.global.t(key)
}

/** Translate when the key exists, else return the fallback (labels of fields owned by other services). */
export function tOr(key: string, fallback: string): string {
  return i18n.global.te(key) || i18n.global.te(key, 'zh-CN') ? i18n.global.t(key) : fallback
}

export function currentLocale(): Locale {
  return i18n.global.locale.value as Locale
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  document.documentElement.lang = locale
  safeStorage(() => localStorage.setItem(STORAGE_KEY, locale))
}

/** Element Plus' own strings (pagination, date picker…) follow the app's language. */
export const elementLocale = computed(() => (i18n.global.locale.value === 'en' ? epEn : epZhCn))
