// One way to start an app: hash router, i18n, Element Plus styles, and for staff apps the login
// route plus the sign-in/permission guard.
import { createApp } from 'vue'
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import 'element-plus/dist/index.css'
import './styles.css'
import { i18n } from './i18n'
import AppRoot from './components/AppRoot.vue'
import StaffLogin from './components/StaffLogin.vue'
import { installStaffGuard } from './staff'

export interface AppOptions {
  /** i18n key of the app's name (tab title, login page). */
  title: string
  routes: RouteRecordRaw[]
  /** Staff apps: add /login and require a signed-in user; the value is the home path. */
  staffHome?: string
}

export function mountApp({ title, routes, staffHome }: AppOptions): void {
  const all: RouteRecordRaw[] = [...routes]
  if (staffHome) {
    all.unshift({
      path: '/login',
      name: 'login',
      component: StaffLogin,
      props: { title, home: staffHome },
      meta: { public: true },
    })
  }
  all.push({ path: '/:pathMatch(.*)*', redirect: '/' })
  const router = createRouter({ history: createWebHashHistory(), routes: all })
  if (staffHome) installStaffGuard(router, staffHome)
  createApp(AppRoot, { title }).use(i18n).use(router).mount('#app')
}
