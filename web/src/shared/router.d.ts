import 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in (the login page). */
    public?: boolean
    /** Permission needed to open the route (staff apps). */
    perm?: string
    /** i18n key of the menu label (console). */
    label?: string
    /** Not a menu item (pages reached from another page, e.g. an editor). */
    hidden?: boolean
  }
}
