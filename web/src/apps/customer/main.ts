import { mountApp } from '@/shared/bootstrap'

mountApp({
  title: 'customer.title',
  routes: [{ path: '/', name: 'chat', component: () => import('./ChatView.vue') }],
})
