import { mountApp } from '@/shared/bootstrap'

mountApp({
  title: 'customer.title',
  routes: [
    { path: '/', name: 'chat', component: () => import('./ChatView.vue') },
    { path: '/tickets', name: 'tickets', component: () => import('./TicketsView.vue') },
    { path: '/tickets/:no', name: 'ticket', component: () => import('./TicketDetailView.vue') },
  ],
})
