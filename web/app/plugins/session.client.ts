// A 401 during a session means it ended: back to the login, then to this page.
import { setUnauthorizedHandler } from '~/api/client'

export default defineNuxtPlugin(() => {
  const router = useRouter()
  setUnauthorizedHandler(() => {
    const user = useUser()
    if (!user.value) return
    user.value = null
    useSessionExpired().value = true
    useNotices().value = []
    const here = router.currentRoute.value.fullPath
    void router.replace({ path: '/login', query: { next: here } })
  })
})
