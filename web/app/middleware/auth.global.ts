// Every page but the login needs a session.
export default defineNuxtRouteMiddleware(async (to) => {
  const user = useUser()
  if (user.value === undefined) user.value = await fetchUser()
  if (to.path === '/login') {
    if (user.value) return navigateTo(safeNext(to.query.next), { replace: true })
    return
  }
  if (!user.value) return navigateTo({ path: '/login', query: to.fullPath === '/' ? {} : { next: to.fullPath } }, { replace: true })
})
