//! The campaign image: uploaded from the admin's computer (the file goes to the upload route,
//! never through the form), or typed as an address; previewed either way.

use super::*;

/// The upload field under the image address, and the image's preview.
#[component]
pub(super) fn ImageUpload(form: RwSignal<CampaignForm>) -> impl IntoView {
    // An uploaded image fills the image address; the file itself never goes through the form.
    let upload_error = RwSignal::new(None::<String>);
    let uploading = RwSignal::new(false);
    let on_file = move |ev: ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(file) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .and_then(|input| input.files())
                .and_then(|files| files.get(0))
            else {
                return;
            };
            upload_error.set(None);
            // The server refuses it too; saying so here spares sending megabytes for nothing.
            if file.size() > rules::IMAGE_MAX_BYTES as f64 {
                upload_error.set(Some(format!(
                    "The image is larger than {} MB; make it smaller.",
                    rules::IMAGE_MAX_BYTES / (1024 * 1024)
                )));
                return;
            }
            uploading.set(true);
            leptos::task::spawn_local(async move {
                match upload_image(file).await {
                    Ok(url) => form.update(|f| f.image_url = url),
                    Err(why) => upload_error.set(Some(why)),
                }
                uploading.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <div class="field">
            <label for="image_file">"…or upload an image (PNG, JPEG, GIF or WebP, up to 5 MB)"</label>
            <input id="image_file" type="file" accept="image/png,image/jpeg,image/gif,image/webp"
                data-testid="image-file" on:change=on_file disabled=move || uploading.get()/>
            <Show when=move || uploading.get()>
                <p class="muted">"Uploading…"</p>
            </Show>
            {move || upload_error.get().map(|e| view! { <p class="field-error" role="alert" data-testid="upload-error">{e}</p> })}
            {move || {
                let url = form.with(|f| f.image_url.trim().to_string());
                (!url.is_empty() && rules::check_image_url(&url).is_ok()).then(|| view! {
                    <img class="image-preview" data-testid="image-preview" src=url alt="The campaign image"/>
                })
            }}
        </div>
    }
    .into_any()
}

/// Sends one file to the upload route and answers the address it is served at, or the
/// server's reason for refusing it.
#[cfg(feature = "hydrate")]
async fn upload_image(file: web_sys::File) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let unreachable = || "The upload did not reach the server; try again.".to_string();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&file);
    let response: web_sys::Response =
        JsFuture::from(leptos::prelude::window().fetch_with_str_and_init("/admin/uploads", &init))
            .await
            .ok()
            .and_then(|r| r.dyn_into().ok())
            .ok_or_else(unreachable)?;
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string()),
        Err(_) => None,
    }
    .unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let field = |name: &str| {
        answer
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    if response.ok() {
        field("url").ok_or_else(unreachable)
    } else {
        Err(field("error")
            .unwrap_or_else(|| format!("The upload failed (HTTP {}).", response.status())))
    }
}
