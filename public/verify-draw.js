/*
 * verify-draw.js: recomputes a giveaway draw from its results.json, in the browser or in node,
 * with no dependency but WebCrypto (crypto.subtle). The same checks as `server verify-draw`
 * (app/src/draws/results.rs), and the same algorithm (README, "The draw"):
 *
 *   list     = the tickets, sorted, each followed by "\n";   list_sha256 = SHA-256(list)
 *   key      = SHA-256(seed ‖ SHA-256(list) ‖ beacon randomness)   (raw bytes; no beacon: 64 bytes)
 *   score(t) = SHA-256(key ‖ t)
 *   order    = tickets by score, smallest first; equal scores by ticket
 *
 * One thing it does not check: a beacon round's BLS signature (that needs a pairing library);
 * its answer says so, and `server verify-draw` checks it.
 *
 * verifyDraw(results) resolves to { verified: true, notes: [...] } or
 * { verified: false, difference: "where it differs" }.
 *
 * In a page: <button data-verify-draw="/c/slug/results.json" data-verify-output="out">Verify</button>
 * <output id="out"></output> — a click fetches the results and writes the answer into #out.
 */
(function (root) {
  'use strict';

  var RESULTS_VERSION = 1;
  var ALGORITHM = 'sha256-score-order-v1';
  var TICKET = /^[0-9A-HJKMNP-TV-Z]{1,32}$/;

  function Difference(message) {
    this.message = message;
  }

  function subtle() {
    var c = root.crypto;
    if (!c || !c.subtle) {
      throw new Error('this browser has no WebCrypto (crypto.subtle): open the page over https');
    }
    return c.subtle;
  }

  function sha256(bytes) {
    return subtle().digest('SHA-256', bytes).then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  function toHex(bytes) {
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return out;
  }

  function fromHex(text, field, length) {
    if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text) ||
        (length !== undefined && text.length !== length * 2)) {
      throw new Difference(field + ': ' + (length === undefined ? 'is not hex' : 'is not ' + length + ' bytes of hex'));
    }
    var bytes = new Uint8Array(text.length / 2);
    for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.substr(i * 2, 2), 16);
    return bytes;
  }

  function concat(parts) {
    var length = 0;
    parts.forEach(function (p) { length += p.length; });
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function firstRoundAfter(genesisTime, period, tMs) {
    var genesisMs = genesisTime * 1000;
    var periodMs = Math.max(period, 1) * 1000;
    if (tMs < genesisMs) return 1;
    return Math.floor((tMs - genesisMs) / periodMs) + 2;
  }

  function nobody(ticket) {
    return ticket === null || ticket === undefined ? 'nobody' : ticket;
  }

  // Who holds which prize while redraws walk down the order (positions from 0 here).
  function Walk(winners, placed) {
    this.holders = [];
    for (var rank = 0; rank < winners; rank++) this.holders.push(rank < placed ? rank : null);
    this.next = Math.min(winners, placed);
    this.struck = new Set();
    this.placed = placed;
  }

  Walk.prototype.strike = function (position, outcome) {
    if (position >= this.placed) {
      throw 'position ' + (position + 1) + ' is beyond the ' + this.placed + ' tickets drawn';
    }
    if (this.struck.has(position)) {
      throw 'the ticket at position ' + (position + 1) + ' was already struck out';
    }
    var rank = this.holders.indexOf(position);
    if (rank < 0) {
      if (outcome === 'passed_to_alternate') {
        throw 'the ticket at position ' + (position + 1) + ' holds no prize to pass on';
      }
      if (outcome !== 'disqualified') throw 'unknown outcome ' + JSON.stringify(outcome);
      this.struck.add(position);
      return { rank: null, successor: null };
    }
    if (outcome !== 'passed_to_alternate' && outcome !== 'disqualified') {
      throw 'unknown outcome ' + JSON.stringify(outcome);
    }
    this.struck.add(position);
    while (this.next < this.placed && this.struck.has(this.next)) this.next++;
    var successor = this.next < this.placed ? this.next : null;
    if (successor !== null) this.next++;
    this.holders[rank] = successor;
    return { rank: rank, successor: successor };
  };

  async function check(results) {
    if (!results || typeof results !== 'object') throw new Difference('results: not a JSON object');
    if (results.version !== RESULTS_VERSION) {
      throw new Difference('version: results format ' + results.version + ' is not one this verifier knows (' + RESULTS_VERSION + ')');
    }
    if (results.algorithm !== ALGORITHM) {
      throw new Difference('algorithm: `' + results.algorithm + '` is not ' + ALGORITHM);
    }
    var seed = fromHex(results.seed, 'seed', 32);
    var commitment = toHex(await sha256(seed));
    if (String(results.commitment).toLowerCase() !== commitment) {
      throw new Difference('commitment: ' + results.commitment + ' is not SHA-256 of the revealed seed (' + commitment + ')');
    }

    var tickets = results.tickets;
    if (!Array.isArray(tickets)) throw new Difference('tickets: not a list');
    for (var i = 0; i < tickets.length; i++) {
      var t = tickets[i];
      if (typeof t !== 'string' || !TICKET.test(t)) {
        throw new Difference('list: line ' + (i + 1) + ' `' + t + '` is not a ticket');
      }
      if (i > 0 && tickets[i - 1] === t) {
        throw new Difference('list: line ' + (i + 1) + ': ticket ' + t + ' appears twice');
      }
      if (i > 0 && tickets[i - 1] > t) {
        throw new Difference('list: line ' + (i + 1) + ': ticket ' + t + ' is out of sorted order');
      }
    }
    var encoder = new TextEncoder();
    var listHash = await sha256(encoder.encode(tickets.map(function (t) { return t + '\n'; }).join('')));
    if (String(results.list_sha256).toLowerCase() !== toHex(listHash)) {
      throw new Difference('list hash: ' + results.list_sha256 + ' is not SHA-256 of the published list (' + toHex(listHash) + ')');
    }

    var notes = [];
    var keyParts = [seed, listHash];
    var beacon = results.beacon;
    if (beacon) {
      var randomness = fromHex(beacon.randomness, 'beacon.randomness', 32);
      var derived = toHex(await sha256(fromHex(beacon.signature, 'beacon.signature')));
      if (derived !== toHex(randomness)) {
        throw new Difference('beacon randomness: round ' + beacon.round + "'s randomness " + beacon.randomness + ' is not SHA-256 of its signature (' + derived + ')');
      }
      if (typeof results.frozen_at_ms === 'number' && typeof beacon.genesis_time === 'number' && typeof beacon.period === 'number') {
        var expected = firstRoundAfter(beacon.genesis_time, beacon.period, results.frozen_at_ms);
        if (beacon.round !== expected) {
          throw new Difference('beacon round: ' + beacon.round + ' is not the first round published after the list was frozen (' + expected + ')');
        }
      }
      keyParts.push(randomness);
      notes.push('beacon round ' + beacon.round + ': its randomness is SHA-256 of its signature; this script does not check the BLS signature itself (`server verify-draw` does, against the public key in the results)');
    } else {
      notes.push('no beacon round: the draw rests on the seed committed to at publication');
    }
    var key = await sha256(concat(keyParts));

    var scored = [];
    for (var start = 0; start < tickets.length; start += 4096) {
      var batch = tickets.slice(start, start + 4096);
      var scores = await Promise.all(batch.map(function (t) {
        return sha256(concat([key, encoder.encode(t)]));
      }));
      batch.forEach(function (t, j) { scored.push({ score: toHex(scores[j]), ticket: t }); });
    }
    scored.sort(function (a, b) {
      if (a.score !== b.score) return a.score < b.score ? -1 : 1;
      return a.ticket < b.ticket ? -1 : a.ticket > b.ticket ? 1 : 0;
    });

    var winners = results.winners_count;
    var alternates = results.alternates_count;
    if (!Number.isInteger(winners) || winners < 0 || !Number.isInteger(alternates) || alternates < 0) {
      throw new Difference('winners_count / alternates_count: not whole numbers');
    }
    var placed = Math.min(winners + alternates, tickets.length);
    var order = results.order;
    if (!Array.isArray(order) || order.length !== placed) {
      throw new Difference('order: ' + (Array.isArray(order) ? order.length : 'no') + ' tickets published, the draw places ' + placed);
    }
    for (var p = 0; p < placed; p++) {
      if (scored[p].ticket !== order[p]) {
        throw new Difference('order at position ' + (p + 1) + ': the draw gives ' + scored[p].ticket + ', the results say ' + order[p]);
      }
    }

    var walk = new Walk(winners, placed);
    var redraws = results.redraws || [];
    redraws.forEach(function (redraw, n) {
      var problem = function (text) { return new Difference('redraw ' + (n + 1) + ': ' + text); };
      var position = redraw.position - 1;
      if (!(position >= 0) || order[position] !== redraw.ticket) {
        throw problem('ticket ' + redraw.ticket + ' is not at position ' + redraw.position + ' of the order');
      }
      var step;
      try {
        step = walk.strike(position, redraw.outcome);
      } catch (text) {
        throw problem(text);
      }
      var rank = step.rank === null ? null : step.rank + 1;
      var claimed = redraw.rank === undefined ? null : redraw.rank;
      if (rank !== claimed) {
        throw problem('ticket ' + redraw.ticket + ' held prize ' + (rank === null ? 'none' : rank) + ', not ' + (claimed === null ? 'none' : claimed));
      }
      var name = function (placedAt) {
        return placedAt ? placedAt.ticket + ' (position ' + placedAt.position + ')' : 'nobody';
      };
      var successor = step.successor === null ? null : { ticket: order[step.successor], position: step.successor + 1 };
      var published = redraw.replaced_by || null;
      if (name(successor) !== name(published)) {
        throw problem('the prize passes to ' + name(successor) + ', the results say ' + name(published));
      }
    });

    var holders = walk.holders;
    if (!Array.isArray(results.winners) || results.winners.length !== holders.length) {
      throw new Difference('winners: ' + (Array.isArray(results.winners) ? results.winners.length : 'no') + ' prizes published, ' + holders.length + ' drawn');
    }
    holders.forEach(function (holder, rank) {
      var expected = holder === null ? null : order[holder];
      var published = results.winners[rank] === undefined ? null : results.winners[rank];
      if (expected !== published) {
        throw new Difference('winner of prize ' + (rank + 1) + ': the draw gives ' + nobody(expected) + ', the results say ' + nobody(published));
      }
    });
    return notes;
  }

  function verifyDraw(results) {
    return check(results).then(
      function (notes) { return { verified: true, notes: notes }; },
      function (e) {
        if (e instanceof Difference) return { verified: false, difference: e.message };
        throw e;
      }
    );
  }

  function wire(document) {
    var buttons = document.querySelectorAll('[data-verify-draw]');
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener('click', function (event) {
        event.preventDefault();
        var output = document.getElementById(button.getAttribute('data-verify-output'));
        var say = function (text) { if (output) output.textContent = text; };
        say('Checking…');
        fetch(button.getAttribute('data-verify-draw'), { headers: { Accept: 'application/json' } })
          .then(function (response) {
            if (!response.ok) throw new Error('the results could not be loaded (' + response.status + ')');
            return response.json();
          })
          .then(verifyDraw)
          .then(function (outcome) {
            say(outcome.verified ? 'verified. ' + outcome.notes.join(' ') : 'differs: ' + outcome.difference);
          })
          .catch(function (e) { say('not checked: ' + e.message); });
      });
    });
  }

  var api = { verifyDraw: verifyDraw, firstRoundAfter: firstRoundAfter, ALGORITHM: ALGORITHM, RESULTS_VERSION: RESULTS_VERSION };
  if (typeof module === 'object' && module.exports) {
    module.exports = api;
  } else {
    root.verifyDraw = verifyDraw;
  }
  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', function () { wire(document); });
    } else {
      wire(document);
    }
  }
})(typeof globalThis !== 'undefined' ? globalThis : this);
