/* Giveaway widget loader. Put <div data-campaign="your-slug"></div> where the giveaway goes and
 * load this script from the giveaway server. Each element becomes an iframe of the campaign,
 * sized to its content. Add data-consent="click" to load nothing until the visitor clicks.
 * Nothing is loaded from third parties.
 *
 * When the visitor's entry is confirmed (the frame shows "You're entered"), the element gets a
 * `giveaway:entered` event (a CustomEvent that bubbles; shown again each time the frame shows the
 * entered entry), whose `detail` is { campaign: 'your-slug', ticket: 'K7Q2MX' or null }:
 *   document.addEventListener('giveaway:entered', function (e) { console.log(e.detail.ticket); });
 * Only messages from this server's own frames are listened to. */
(function () {
  var script = document.currentScript;
  var origin = new URL(script ? script.src : location.href).origin;
  var frames = [];

  function mount(el) {
    if (el.getAttribute('data-giveaway-mounted')) return;
    el.setAttribute('data-giveaway-mounted', '1');
    var slug = el.getAttribute('data-campaign') || '';
    if (!/^[a-z0-9-]{1,64}$/.test(slug)) {
      el.textContent = 'Giveaway: "' + slug + '" is not a campaign link.';
      return;
    }
    function load() {
      var frame = document.createElement('iframe');
      // The frame says which site it is on, and the page's utm_source, for the organiser's
      // counts (nothing about the visitor).
      var query = '?site=' + encodeURIComponent(location.origin);
      var tag = new URLSearchParams(location.search).get('utm_source');
      if (tag) query += '&utm_source=' + encodeURIComponent(tag.slice(0, 40));
      frame.src = origin + '/embed/' + slug + query;
      frame.title = 'Giveaway';
      frame.loading = 'lazy';
      frame.style.cssText = 'width:100%;border:0;height:420px;display:block';
      el.textContent = '';
      el.appendChild(frame);
      frames.push({ frame: frame, el: el, slug: slug });
    }
    if (el.getAttribute('data-consent') === 'click') {
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = el.getAttribute('data-consent-label') || 'Show the giveaway';
      button.addEventListener('click', load);
      el.appendChild(button);
    } else {
      load();
    }
  }

  // Only our own iframes, from our origin, may resize themselves or say their visitor entered.
  window.addEventListener('message', function (event) {
    if (event.origin !== origin || !event.data) return;
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (f.frame.contentWindow !== event.source) continue;
      if (event.data.giveaway === 'resize') {
        f.frame.style.height = Math.max(120, Math.min(4000, +event.data.height || 0)) + 'px';
      } else if (event.data.giveaway === 'entered') {
        var ticket = typeof event.data.ticket === 'string' ? event.data.ticket.slice(0, 64) : null;
        f.el.dispatchEvent(new CustomEvent('giveaway:entered', {
          bubbles: true, detail: { campaign: f.slug, ticket: ticket }
        }));
      }
    }
  });

  function mountAll() {
    var els = document.querySelectorAll('[data-campaign]');
    for (var i = 0; i < els.length; i++) mount(els[i]);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mountAll);
  else mountAll();
})();
