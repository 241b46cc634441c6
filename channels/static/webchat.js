// Web chat page: talks to the webchat channel's webhook (same origin, REST-style JSON).
(function () {
  "use strict";

  var WEBHOOK_URL = "webhook"; // relative to the page, /webhooks/webchat/
  var EVENTS_URL = "events"; // messages added from outside a reply: an operator's, a referral notice
  var SEEN_KEY = "legal-webchat-seen"; // the last such message shown, so a reopened page shows only new ones
  var TIMEOUT_MS = 90000;
  var MAX_CHARS = 5000;
  var HOTLINES = { "110": 1, "119": 1, "120": 1, "122": 1, "12315": 1, "12333": 1,
    "12338": 1, "12345": 1, "12348": 1 };
  var CITATION = /《[^《》\n]{1,60}》第[〇零一二三四五六七八九十百千万0-9]+条(?:之[一二三四五六七八九十]+)?/g;
  var ARTICLE_START = /^(《[^《》\n]{1,60}》第[〇零一二三四五六七八九十百千万0-9]+条(?:之[一二三四五六七八九十]+)?)[：:]\s*/;

  var chat = document.querySelector(".chat");
  var list = document.getElementById("messages");
  var typing = document.getElementById("typing");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var sendButton = document.getElementById("send");
  var chips = Array.prototype.slice.call(document.querySelectorAll(".chip"));
  var busy = false;
  var withOperator = false; // an operator has taken the conversation: the bot stays silent meanwhile

  // The conversation id is the server's, in an HttpOnly cookie set with this page: the script never
  // sees it and sends no sender.

  // ---- rendering ----------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Hotline numbers become tap-to-call links; other text stays plain.
  function appendWithPhones(parent, text) {
    var last = 0;
    text.replace(/\d+/g, function (digits, offset) {
      if (!HOTLINES[digits]) return digits;
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = el("a", "", digits);
      link.href = "tel:" + digits;
      parent.appendChild(link);
      last = offset + digits.length;
      return digits;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // Citations 《…》第X条 in bold, hotline numbers as links.
  function appendInline(parent, text) {
    var last = 0;
    text.replace(CITATION, function (cite, offset) {
      appendWithPhones(parent, text.slice(last, offset));
      parent.appendChild(el("strong", "cite", cite));
      last = offset + cite.length;
      return cite;
    });
    appendWithPhones(parent, text.slice(last));
  }

  function appendLines(parent, lines) {
    lines.forEach(function (line, i) {
      if (i > 0) parent.appendChild(document.createElement("br"));
      appendInline(parent, line);
    });
  }

  // One quoted article: the citation as the card's title, the article's text below it.
  function articleCard(lines) {
    var match = lines[0].match(ARTICLE_START);
    var card = el("blockquote", "article");
    card.appendChild(el("strong", "cite", match[1]));
    var body = el("span", "article-text");
    appendLines(body, [lines[0].slice(match[0].length)].concat(lines.slice(1)));
    card.appendChild(body);
    return card;
  }

  // A paragraph: plain lines, then one card per line that starts with "《…》第X条：".
  function appendParagraph(parent, paragraph) {
    var lines = paragraph.split("\n");
    var start = 0;
    while (start < lines.length && !ARTICLE_START.test(lines[start])) start += 1;
    if (start > 0) {
      var p = el("p", /^\s*⚠/.test(lines[0]) ? "disclaimer" : "");
      appendLines(p, lines.slice(0, start));
      parent.appendChild(p);
    }
    while (start < lines.length) {
      var end = start + 1;
      while (end < lines.length && !ARTICLE_START.test(lines[end])) end += 1;
      parent.appendChild(articleCard(lines.slice(start, end)));
      start = end;
    }
  }

  function renderText(bubble, text) {
    String(text).replace(/\r\n?/g, "\n").split(/\n\s*\n/).forEach(function (paragraph) {
      if (paragraph.trim()) appendParagraph(bubble, paragraph.replace(/^\n+|\n+$/g, ""));
    });
  }

  function renderButtons(bubble, buttons) {
    var group = el("div", "actions");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "可选操作");
    buttons.forEach(function (button) {
      if (!button || !button.title) return;
      var node = el("button", "action", button.title);
      node.type = "button";
      node.addEventListener("click", function () {
        if (busy) return;
        Array.prototype.forEach.call(group.children, function (b) { b.disabled = true; });
        node.classList.add("chosen");
        send(button.payload || button.title, button.title);
      });
      group.appendChild(node);
    });
    bubble.appendChild(group);
  }

  function addMessage(kind) {
    var item = el("li", "msg " + kind);
    var bubble = el("div", "bubble");
    item.appendChild(bubble);
    list.appendChild(item);
    return { item: item, bubble: bubble };
  }

  function addUserMessage(text) {
    addMessage("user").bubble.textContent = text;
    scrollToBottom();
  }

  function addBotMessage(message) {
    var added = addMessage("bot");
    if (message.text) renderText(added.bubble, message.text);
    if (Array.isArray(message.buttons) && message.buttons.length) {
      renderButtons(added.bubble, message.buttons);
    }
    return added.item;
  }

  function addSystemMessage(text, retry) {
    var added = addMessage("bot system");
    var paragraph = el("p", "");
    appendWithPhones(paragraph, text); // 12348, 110 … as tap-to-call links here too
    added.bubble.appendChild(paragraph);
    if (retry) {
      var group = el("div", "actions");
      var again = el("button", "action", "重试");
      again.type = "button";
      again.addEventListener("click", function () {
        if (busy) return;
        again.disabled = true;
        retry();
      });
      group.appendChild(again);
      added.bubble.appendChild(group);
    }
    scrollToBottom();
  }

  function scrollToBottom() {
    chat.scrollTop = chat.scrollHeight;
  }

  // Long answers are read from their start, so show the first new message at the top.
  function scrollToMessage(item) {
    var offset = item.offsetTop - list.offsetTop;
    chat.scrollTop = Math.max(0, offset - 8);
  }

  // ---- talking to the server ----------------------------------------------------------------

  function setBusy(value) {
    busy = value;
    typing.hidden = !value;
    sendButton.disabled = value;
    chips.forEach(function (chip) { chip.disabled = value; });
    if (value) scrollToBottom();
  }

  function post(message) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(WEBHOOK_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ message: message }),
      signal: controller ? controller.signal : undefined,
    }).then(function (response) {
      if (timer) clearTimeout(timer);
      if (!response.ok) {
        // A refusal may carry the sentence meant for the resident (``text``: too many messages,
        // the service is busy): show the server's words rather than a guess of ours.
        return response.json().catch(function () { return null; }).then(function (body) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          error.text = body && typeof body.text === "string" ? body.text.trim() : "";
          throw error;
        });
      }
      return response.json();
    }, function (error) {
      if (timer) clearTimeout(timer);
      throw error;
    });
  }

  function showReplies(replies) {
    var shown = (Array.isArray(replies) ? replies : []).filter(function (m) {
      return m && (m.text || (Array.isArray(m.buttons) && m.buttons.length));
    });
    if (!shown.length) {
      if (!withOperator) addSystemMessage("消息已收到。如需帮助，也可以拨打12348公共法律服务热线。");
      return;
    }
    var first = null;
    shown.forEach(function (message) {
      var item = addBotMessage(message);
      first = first || item;
    });
    scrollToMessage(first);
  }

  function deliver(message) {
    setBusy(true);
    return post(message).then(function (replies) {
      setBusy(false);
      showReplies(replies);
    }, function (error) {
      setBusy(false);
      if (error && (error.status === 400 || error.status === 413)) { // refused input: resending will not help
        addSystemMessage("这条消息没能发送，请检查内容后重新输入（不超过" + MAX_CHARS + "字）。");
        return;
      }
      if (error && error.text) { // 429 or 503 with the server's polite sentence: wait, then send again
        addSystemMessage(error.text, function () { deliver(message); });
        return;
      }
      addSystemMessage("抱歉，网络或服务暂时出了点问题，请稍后点“重试”。着急的话可以拨打12348热线。",
        function () { deliver(message); });
    });
  }

  function send(message, display) {
    if (busy) return;
    message = String(message).trim();
    if (!message) return;
    addUserMessage(display || message);
    deliver(message);
  }

  // ---- messages from outside a reply (server-sent events) ------------------------------------

  function loadSeen() {
    try { return window.localStorage.getItem(SEEN_KEY) || ""; } catch (e) { return ""; }
  }

  function saveSeen(id) {
    try { window.localStorage.setItem(SEEN_KEY, id); } catch (e) { /* this visit only */ }
  }

  function showPushed(message) {
    if (message.kind === "joined" || message.kind === "operator") withOperator = true;
    if (message.kind === "released") withOperator = false;
    var item = addBotMessage(message);
    if (message.operator) {
      item.classList.add("operator");
      item.firstChild.insertBefore(el("span", "who", "人工服务 · " + message.operator), item.firstChild.firstChild);
    }
    scrollToBottom();
  }

  function listen() {
    if (!window.EventSource) return;
    var seen = loadSeen();
    var source = new EventSource(EVENTS_URL + (seen ? "?after=" + encodeURIComponent(seen) : ""));
    source.addEventListener("message", function (event) {
      try { showPushed(JSON.parse(event.data)); } catch (e) { return; }
      if (event.lastEventId) saveSeen(event.lastEventId);
    });
  }

  listen();

  // ---- input --------------------------------------------------------------------------------

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 3, 140) + "px";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy || !input.value.trim()) return;
    var text = input.value.slice(0, MAX_CHARS);
    input.value = "";
    autoGrow();
    send(text);
  });

  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter breaks the line; never while an input method is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else sendButton.click();
    }
  });

  input.addEventListener("input", autoGrow);

  chips.forEach(function (chip) {
    chip.addEventListener("click", function () {
      send(chip.getAttribute("data-message"), chip.getAttribute("data-message"));
    });
  });
})();
