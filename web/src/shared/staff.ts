// Staff sign-in shared by the agent workspace and the console: the token lives in sessionStorage
// (gone when the tab closes), the user and its permissions come from the login response / /api/auth/me.
import { reactive } from 'vue'
import type { Router } from 'vue-router'
import { createApi } from './api'
import type { LoginResponse, StaffRead } from './types'

const STORAGE_KEY = 'lingxi.staff'

interface StaffState {
  token: string | null
  user: StaffRead | null
}

function load(): StaffState {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY)
    if (raw) return JSON.parse(raw) as StaffState
  } catch {
    /* storage unavailable or corrupt */
  }
  return { token: null, user: null }
}

export const staff = reactive<StaffState>(load())

function save(): void {
  try {
    if (staff.token) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(staff))
    else sessionStorage.removeItem(STORAGE_KEY)
  } catch {
    /* ignore */
  }
}

let routerRef: Router | null = null

export const staffApi = createApi({
  token: () => staff.token,
  onUnauthenticated: () => {
    clearStaff()
    const current = routerRef?.currentRoute.value
    if (routerRef && current?.name !== 'login') {
      void routerRef.replace({ name: 'login', query: { redirect: current?.fullPath } })
    }
  },
})

export function clearStaff(): void {
  staff.token = null
  staff.user = null
  save()
}

export async function login(username: string, password: string): Promise<StaffRead> {
  const res = await staffApi.post<LoginResponse>('/api/auth/login', { username, password }, { token: null })
  staff.token = res.access_token
  staff.user = res.user
  save()
  return res.user
}

/** Refresh the user (permissions may have changed); a 401 sends us back to the login page. */
export async function refreshMe(): Promise<void> {
  if (!staff.token) return
  try {
    staff.user = await staffApi.get<StaffRead>('/api/auth/me', { silent: true })
    save()
  } catch {
    /* 401 handled by onUnauthenticated; other errors keep the cached user */
  }
}

export function hasPerm(perm: string | undefined): boolean {
  if (!perm) return true
  return staff.user?.permissions?.includes(perm) ?? false
}

/** Guard for a hash router: routes need a token unless meta.public; meta.perm needs that permission. */
export function installStaffGuard(router: Router, home: string): void {
  routerRef = router
  router.beforeEach((to) => {
    if (to.meta.public) return staff.token && to.name === 'login' ? { path: home } : true
    if (!staff.token) return { name: 'login', query: { redirect: to.fullPath } }
    if (!hasPerm(to.meta.perm)) return { path: home }
    return true
  })
}

export function logout(): void {
  if (staff.token) void staffApi.post('/api/auth/logout', undefined, { silent: true }).catch(() => undefined)
  clearStaff()
  void routerRef?.replace({ name: 'login' })
}
