import { mountApp } from '@/shared/bootstrap'

mountApp({
  title: 'agent.title',
  staffHome: '/',
  routes: [{ path: '/', name: 'workspace', component: () => import('./WorkspaceView.vue') }],
})
