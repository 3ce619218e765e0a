// Console pages; the menu shows those the signed-in user's permissions allow (meta.perm).
import type { RouteRecordRaw } from 'vue-router'
import { Perm } from '@/shared/permissions'

export const pages: RouteRecordRaw[] = [
  { path: '', name: 'overview', component: () => import('./OverviewView.vue'), meta: { label: 'console.menu.overview' } },
  {
    path: 'tickets',
    name: 'tickets',
    component: () => import('./tickets/TicketsView.vue'),
    meta: { label: 'console.menu.tickets', perm: Perm.TICKET_VIEW },
  },
  {
    path: 'hot-issues',
    name: 'hot-issues',
    component: () => import('./tickets/HotIssuesView.vue'),
    meta: { label: 'console.menu.hotIssues', perm: Perm.TICKET_SUPERVISE },
  },
  {
    path: 'wallboard',
    name: 'wallboard',
    component: () => import('./WallboardView.vue'),
    meta: { label: 'console.menu.wallboard', perm: Perm.CHAT_MONITOR },
  },
  {
    path: 'staff',
    name: 'staff',
    component: () => import('./StaffView.vue'),
    meta: { label: 'console.menu.staff', perm: Perm.STAFF_ADMIN },
  },
  {
    path: 'audit',
    name: 'audit',
    component: () => import('./AuditView.vue'),
    meta: { label: 'console.menu.audit', perm: Perm.AUDIT_READ },
  },
  {
    path: 'knowledge',
    name: 'knowledge',
    component: () => import('./knowledge/KnowledgeListView.vue'),
    meta: { label: 'console.menu.knowledge', perm: Perm.KNOWLEDGE_READ },
  },
  {
    path: 'knowledge/review',
    name: 'knowledgeReview',
    component: () => import('./knowledge/KnowledgeReviewView.vue'),
    meta: { label: 'console.menu.knowledgeReview', perm: Perm.KNOWLEDGE_EDIT },
  },
  {
    path: 'knowledge/search',
    name: 'knowledgeSearch',
    component: () => import('./knowledge/KnowledgeSearchView.vue'),
    meta: { label: 'console.menu.knowledgeSearch', perm: Perm.KNOWLEDGE_READ },
  },
  {
    // "new" or an entry id: the editor with the workflow buttons and the version history
    path: 'knowledge/entries/:id',
    name: 'knowledgeEntry',
    component: () => import('./knowledge/KnowledgeEditView.vue'),
    meta: { perm: Perm.KNOWLEDGE_READ, hidden: true },
  },
  {
    path: 'inbox',
    name: 'inbox',
    component: () => import('./InboxView.vue'),
    meta: { label: 'console.menu.inbox', perm: Perm.DEV_INBOX },
  },
]
