// Shapes of the knowledge base API (/api/knowledge, docs/knowledge.md).

export type KbStatus = 'draft' | 'in_review' | 'published' | 'archived'
export type KbLanguage = 'zh-CN' | 'en'
export type KbChannel = 'webchat' | 'app' | 'wechat' | 'sms' | 'ivr'
export type Decision = 'answer' | 'suggest' | 'none'

/** A product an entry is about: its name and the other names customers use (docs/knowledge.md). */
export interface KbProduct {
  name: string
  aliases: string[]
}

export interface VersionRead {
  number: number
  status: KbStatus
  language: KbLanguage
  category: string
  intent: string | null
  standard_question: string
  similar_questions: string[]
  answer_html: string
  answer_text: string
  channels: KbChannel[]
  valid_from: string | null
  valid_to: string | null
  products: KbProduct[]
  author_name: string
  created_at: string
  updated_at: string
  submitted_at: string | null
  submitted_by_name: string | null
  reviewed_at: string | null
  reviewer_name: string | null
  review_outcome: 'approved' | 'rejected' | null
  review_comment: string | null
  published_at: string | null
  archived_at: string | null
  archive_reason: 'superseded' | 'withdrawn' | null
  archive_note: string | null
}

export interface EntrySummary {
  id: number
  key: string
  status: KbStatus
  head_version: number
  live_version: number | null
  language: KbLanguage
  category: string
  intent: string | null
  standard_question: string
  revision: number
  updated_at: string
  author_name: string
  can_review: boolean
}

export interface EntryDetail extends EntrySummary {
  versions: VersionRead[]
}

export interface EntryPage {
  items: EntrySummary[]
  total: number
  page: number
  page_size: number
}

export interface IntentOption {
  id: string
  zh: string
  en: string
  kind: string
}

export interface KnowledgeMeta {
  languages: KbLanguage[]
  channels: KbChannel[]
  statuses: KbStatus[]
  categories: string[]
  intents: IntentOption[]
  revision: number
  import_max_rows: number
  import_max_bytes: number
}

export interface EntryContent {
  standard_question: string
  similar_questions: string[]
  answer: string
  category: string
  intent: string | null
  channels: KbChannel[]
  valid_from: string | null
  valid_to: string | null
  language: KbLanguage
  products: KbProduct[]
}

export interface HitRead {
  entry_id: number
  key: string
  version: number
  category: string
  intent: string | null
  standard_question: string
  matched_question: string
  answer_html: string
  answer_text: string
  score: number
  lexical: number
  semantic: number
  intent_prior: number
  product_match: boolean
}

export interface SearchRead {
  decision: Decision
  products: string[]
  prompt: string | null
  hits: HitRead[]
  query: string
  language: KbLanguage
  channel: KbChannel
  revision: number
}

export interface ImportResult {
  dry_run: boolean
  rows: number
  created: number
  updated: number
  entries: string[]
}

export interface ImportProblem {
  row: number | null
  column: string | null
  column_number: number | null
  column_letter: string | null
  problem: string
}
