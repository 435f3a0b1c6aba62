//! Giving the host its turn. Native: nothing to do (waits block in `device.poll`). In a
//! browser nothing the GPU finishes is seen until the page's event loop runs (buffer maps
//! resolve as JS promises), and a loop that never yields also freezes the page.

/// Returns at once on native; on the web, after one macrotask (`setTimeout(0)`), so the
/// browser can repaint, handle input and deliver finished GPU work.
pub async fn yield_to_host() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            // Window and worker scopes both have setTimeout on the global object.
            let global = js_sys::global();
            let set_timeout = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            match set_timeout {
                Some(f) => {
                    let _ = f.call2(&global, &resolve, &JsValue::from(0));
                }
                None => {
                    let _ = resolve.call0(&JsValue::NULL);
                }
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

/// A wall clock that exists on every target (`std::time::Instant` panics in a browser):
/// seconds since it started, from `Instant` natively and `performance.now()` on the web.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    start: f64,
}

impl Stopwatch {
    pub fn start() -> Self {
        Self {
            start: now_seconds(),
        }
    }

    pub fn seconds(&self) -> f64 {
        now_seconds() - self.start
    }
}

/// Seconds on a monotonic clock whose origin is arbitrary (the process's first call natively,
/// the page's time origin on the web).
pub fn now_seconds() -> f64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ORIGIN
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
    }
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let ms = js_sys::Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
            .map_or_else(js_sys::Date::now, |p| p.now());
        ms / 1e3
    }
}
