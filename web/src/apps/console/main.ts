import { mountApp } from '@/shared/bootstrap'
import { pages } from './pages'

mountApp({
  title: 'console.title',
  staffHome: '/',
  routes: [{ path: '/', component: () => import('./ConsoleLayout.vue'), children: pages }],
})
