// The public entry pages' one script, inlined by the server and allowed by its hash (a change
// here changes the hash by itself). The pages work without it.
(function () {
  var doc = document;

  // The countdown to the end of the giveaway.
  var clock = doc.querySelector('[data-ends]');
  function tick() {
    if (!clock) return;
    var s = Math.floor((+clock.dataset.ends - Date.now()) / 1000);
    if (s <= 0) { clock.textContent = 'ended'; return; }
    var days = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    clock.textContent = (days ? days + 'd ' : '') + h + 'h ' + m + 'm ' + (s % 60) + 's left';
  }
  tick();
  setInterval(tick, 1000);

  // A pending entry: reload once Messenger confirmed it.
  var pending = doc.querySelector('[data-status-url]');
  if (pending && window.fetch) setInterval(function () {
    fetch(pending.dataset.statusUrl, { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (j) { if (j.status !== 'pending') location.reload(); })
      .catch(function () {});
  }, 2000);

  // Inside the widget's iframe: tell the embedding page our height. The body's, not the
  // document's: a document is never shorter than its iframe, so it could only ever grow.
  if (window.parent !== window) {
    var last = 0;
    var resize = function () {
      var h = Math.ceil(doc.body.getBoundingClientRect().height) + 16;
      if (h !== last) { last = h; parent.postMessage({ giveaway: 'resize', height: h }, '*'); }
    };
    if (window.ResizeObserver) new ResizeObserver(resize).observe(doc.body);
    resize();
    // Tell the host page that its visitor has entered (the widget turns this into the DOM event
    // `giveaway:entered`). To any origin: the frame cannot know its host's, and it carries only
    // what is public anyway (the campaign's address and the ticket the results page lists).
    if (doc.querySelector('[data-state="entered"]')) {
      var ticket = doc.querySelector('[data-testid="ticket"]');
      parent.postMessage({ giveaway: 'entered', campaign: location.pathname.split('/')[2],
        ticket: ticket ? ticket.textContent : null }, '*');
    }
  }
})();
