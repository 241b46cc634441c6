// The operator console: agent assist (Enter searches), call log, Q&A entries, and the live 转人工
// queue with takeover. Everything goes through the JSON API (/api/...) with the session's CSRF
// token; the queue, emergencies and the taken conversation arrive over /api/operator/events.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) { return; }
  var csrf = root.getAttribute("data-csrf");
  var me = root.getAttribute("data-user");
  var isOperator = root.getAttribute("data-operator") === "1";
  var isAdmin = root.getAttribute("data-admin") === "1";
  var $ = function (id) { return document.getElementById(id); };
  var current = null;      // the handoff this operator is talking in
  var ending = null;       // the handoff this window is releasing or closing right now
  var lastAnswer = null;   // the latest assist answer (for the Q&A entry form)
  var lastCall = null;     // the latest logged call

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = text; }
    return n;
  }

  function toast(text) {
    var t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 3000);
  }

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") { opts.headers["X-CSRF-Token"] = csrf; }
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(data.detail || ("HTTP " + r.status));
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  function copyButton(text, label) {
    var b = el("button", "copy", label || "复制");
    b.type = "button";
    b.addEventListener("click", function () {
      var done = function () { toast("已复制"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else { fallbackCopy(text); done(); }
    });
    return b;
  }

  function fallbackCopy(text) {
    var area = el("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  // ---- agent assist ---------------------------------------------------------------------------

  function showAnswer(data) {
    lastAnswer = data;
    var box = $("answer");
    box.innerHTML = "";
    var head = el("div", "row");
    head.appendChild(el("strong", "", "类别：" + data.topic + (data.outcome === "fallback" ? "（智能助手没有把握）" : "")));
    head.appendChild(copyButton(data.whole, "复制整段回答"));
    box.appendChild(head);
    data.messages.forEach(function (m) { box.appendChild(el("p", "msg", m)); });
    var arts = el("ul", "articles");
    data.articles.forEach(function (a) {
      var li = el("li");
      li.appendChild(el("span", "quote", a.quote));
      li.appendChild(copyButton(a.quote));
      arts.appendChild(li);
    });
    box.appendChild(arts);
    box.hidden = false;
    var hits = $("hits");
    hits.innerHTML = "";
    data.hits.forEach(function (h) {
      var li = el("li");
      li.appendChild(el("span", "quote", h.quote));
      li.appendChild(copyButton(h.quote));
      hits.appendChild(li);
    });
    if (!$("call-question").value) { $("call-question").value = $("q").value; }
    var topic = $("call-topic");
    if (topic && data.topic) { topic.value = data.topic; }
  }

  function search() {
    var q = $("q").value.trim();
    if (!q) { return; }
    var params = new URLSearchParams({ q: q });
    [["law", "f-law"], ["doc_type", "f-doc"], ["jurisdiction", "f-jur"]].forEach(function (p) {
      if ($(p[1]).value) { params.set(p[0], $(p[1]).value); }
    });
    var started = Date.now();
    api("GET", "/api/assist?" + params.toString()).then(function (data) {
      showAnswer(data);
      $("answer").setAttribute("data-ms", String(Date.now() - started));
    }, function (e) { toast("查询失败：" + e.message); });
  }

  // ---- call log, referral, Q&A entry -----------------------------------------------------------

  function logCall(event) {
    event.preventDefault();
    var body = {
      question: $("call-question").value,
      topic: $("call-topic").value || null,
      village: $("call-village").value || null,
      outcome: $("call-outcome").value,
      caller_phone: $("call-phone").value || null,
      legal_aid: $("call-aid").checked,
      articles: lastAnswer ? lastAnswer.articles.map(function (a) { return a.id; }) : [],
    };
    api("POST", "/api/calls", body).then(function (call) {
      lastCall = call;
      $("call-status").textContent = "已登记（编号 " + call.id.slice(0, 8) + "）";
      $("call-done").hidden = false;
      $("entry-question").value = body.question;
      if (lastAnswer) {
        $("entry-answer").value = lastAnswer.text || lastAnswer.messages.join("\n\n");
        $("entry-articles").value = lastAnswer.articles.map(function (a) { return a.id; }).join(",");
      }
      toast("来电已登记");
    }, function (e) { toast("登记失败：" + e.message); });
  }

  function refer(event) {
    event.preventDefault();
    if (!lastCall) { return; }
    var body = { consent: $("refer-consent").checked, village: $("call-village").value || null };
    api("POST", "/api/calls/" + lastCall.id + "/referral", body).then(function (r) {
      $("call-status").textContent = "已转介给 " + r.village + " " + (r.adviser || "") + "（编号 " + r.id.slice(0, 8) + "）";
      toast("已转介");
    }, function (e) { toast("转介失败：" + e.message); });
  }

  function proposeEntry(event) {
    event.preventDefault();
    var body = {
      question: $("entry-question").value,
      answer: $("entry-answer").value,
      articles: $("entry-articles").value.split(/[,，\s]+/).filter(Boolean),
      consultation_id: lastCall ? lastCall.id : null,
    };
    api("POST", "/api/knowledge", body).then(function () {
      toast("已提交审核");
      loadEntries();
    }, function (e) { toast("提交失败：" + e.message); });
  }

  var STATUS = { proposed: "待审核", approved: "已采用", rejected: "未采用" };

  function loadEntries() {
    api("GET", "/api/knowledge").then(function (data) {
      var list = $("entries");
      list.innerHTML = "";
      data.entries.forEach(function (e) {
        var li = el("li");
        li.setAttribute("data-id", e.id);
        li.appendChild(el("strong", "", e.question));
        li.appendChild(el("span", "status", STATUS[e.status] || e.status));
        li.appendChild(el("p", "quote", e.answer));
        li.appendChild(el("p", "small", "引用：" + e.articles.join("、") + " · 撰写：" + e.proposed_by +
          (e.reviewed_by ? " · 审核：" + e.reviewed_by : "")));
        if (isAdmin && e.status === "proposed") {
          var ok = el("button", "approve", "采用");
          ok.type = "button";
          ok.addEventListener("click", function () {
            api("POST", "/api/knowledge/" + e.id + "/approve").then(loadEntries, function (x) { toast(x.message); });
          });
          var no = el("button", "secondary", "不采用");
          no.type = "button";
          no.addEventListener("click", function () {
            api("POST", "/api/knowledge/" + e.id + "/reject").then(loadEntries, function (x) { toast(x.message); });
          });
          li.appendChild(ok);
          li.appendChild(no);
        }
        list.appendChild(li);
      });
    });
  }

  // ---- the queue and the conversation --------------------------------------------------------

  var KIND = { request: "转人工", unsure: "多次未能解答", emergency: "紧急" };
  var CHANNEL = { web: "网页", wechat: "微信", rest: "接口", hotline: "热线" };

  function minutes(seconds) { return Math.max(0, Math.floor(seconds / 60)) + " 分钟"; }

  function transcriptList(list, messages) {
    list.innerHTML = "";
    (messages || []).forEach(function (m) {
      var li = el("li", m.by);
      li.appendChild(el("span", "who", m.by === "user" ? "群众" : m.by === "operator" ? "坐席 " + m.name : "智能助手"));
      li.appendChild(document.createTextNode(m.text));
      list.appendChild(li);
    });
  }

  // The transcript so far, folded: a card stays short until the operator opens it.
  function transcriptDetails(messages) {
    var details = el("details");
    details.appendChild(el("summary", "", "对话记录"));
    var log = el("ul", "transcript");
    transcriptList(log, messages);
    details.appendChild(log);
    return details;
  }

  function takeButton(h) {
    var b = el("button", "take", "接入");
    b.type = "button";
    b.setAttribute("data-id", h.id);
    b.addEventListener("click", function () { take(h.id); });
    return b;
  }

  function renderQueue(queue) {
    var list = $("queue");
    list.innerHTML = "";
    var waiting = 0;
    queue.forEach(function (h) {
      if (h.status === "waiting") { waiting += 1; }
      var li = el("li", "card q" + (h.urgent ? " urgent" : "") + (h.status === "taken" ? " taken" : ""));
      li.setAttribute("data-id", h.id);
      var row = el("div", "row");
      row.appendChild(el("strong", "", (KIND[h.kind] || h.kind) + " · " + (CHANNEL[h.channel] || h.channel) +
        (h.topic ? " · " + h.topic : "")));
      row.appendChild(el("span", "small", "已等 " + minutes(h.waited_s)));
      li.appendChild(row);
      if (h.reason) { li.appendChild(el("p", "summary", h.reason)); }
      if (h.status === "taken") {
        li.appendChild(el("p", "small", "由 " + h.taken_by + " 接待中"));
        if (h.taken_by === me && (!current || current.id !== h.id)) { openChat(h); }
      } else {
        li.appendChild(takeButton(h));
      }
      li.appendChild(transcriptDetails(h.transcript));
      list.appendChild(li);
    });
    $("queue-count").textContent = String(waiting);
    if (current && !queue.some(function (h) { return h.id === current.id && h.status === "taken"; })) {
      // Not ended here: the scheduler handed it back because the resident waited too long for an
      // answer (HANDOFF_IDLE_MINUTES), or this operator ended it in another window.
      var handedBack = current.id !== ending;
      closeChat();
      if (handedBack) { toast("居民久等未获回复，对话已自动交还智能助手"); }
    }
  }

  function openChat(h) {
    current = h;
    $("chat").hidden = false;
    $("chat-id").textContent = (CHANNEL[h.channel] || h.channel) + " · " + h.id.slice(0, 8);
    transcriptList($("chat-log"), h.transcript);
    $("chat-input").focus();
  }

  function closeChat() {
    current = null;
    $("chat").hidden = true;
    $("chat-log").innerHTML = "";
  }

  function take(id) {
    api("POST", "/api/handoffs/" + id + "/take").then(function (h) {
      openChat(h);
      refreshQueue();
    }, function (e) {
      toast(e.status === 409 ? "已被其他坐席接入" : "接入失败：" + e.message);
      refreshQueue();
    });
  }

  function refreshQueue() {
    return api("GET", "/api/handoffs").then(function (data) { renderQueue(data.handoffs); });
  }

  function sendChat(event) {
    event.preventDefault();
    var text = $("chat-input").value.trim();
    if (!current || !text) { return; }
    api("POST", "/api/handoffs/" + current.id + "/messages", { text: text }).then(function (m) {
      $("chat-input").value = "";
      var li = el("li", "operator");
      li.appendChild(el("span", "who", "坐席 " + m.name));
      li.appendChild(document.createTextNode(m.text));
      $("chat-log").appendChild(li);
    }, function (e) { toast("发送失败：" + e.message); });
  }

  function endChat(path, body) {
    if (!current) { return; }
    ending = current.id;
    api("POST", "/api/handoffs/" + current.id + "/" + path, body).then(function () {
      closeChat();
      refreshQueue();
      toast(path === "release" ? "已交还智能助手" : "对话已结束");
    }, function (e) { toast(e.message); });
  }

  function alertEmergency(h) {
    var box = el("div", "alert");
    box.setAttribute("data-id", h.id);
    box.appendChild(el("strong", "", "紧急求助 · " + (CHANNEL[h.channel] || h.channel)));
    box.appendChild(el("p", "", h.reason || ""));
    box.appendChild(transcriptDetails(h.transcript));
    var b = takeButton(h);
    b.addEventListener("click", function () { box.remove(); });
    box.appendChild(b);
    $("alerts").prepend(box);
  }

  function listen() {
    if (!window.EventSource) { setInterval(refreshQueue, 3000); return; }
    var source = new EventSource("/api/operator/events");
    source.addEventListener("queue", function (e) { renderQueue(JSON.parse(e.data)); });
    source.addEventListener("emergency", function (e) { alertEmergency(JSON.parse(e.data)); });
    source.addEventListener("transcript", function (e) {
      var data = JSON.parse(e.data);
      if (current && current.id === data.id) { transcriptList($("chat-log"), data.transcript); }
    });
  }

  // ---- wiring ----------------------------------------------------------------------------------

  if (isOperator) {
    $("assist-form").addEventListener("submit", function (e) { e.preventDefault(); search(); });
    $("q").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); search(); }
    });
    ["f-law", "f-doc", "f-jur"].forEach(function (id) { $(id).addEventListener("change", search); });
    $("call-form").addEventListener("submit", logCall);
    $("refer-form").addEventListener("submit", refer);
    $("entry-form").addEventListener("submit", proposeEntry);
    $("chat-form").addEventListener("submit", sendChat);
    $("chat-input").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { sendChat(e); }
    });
    $("chat-release").addEventListener("click", function () { endChat("release"); });
    $("chat-close").addEventListener("click", function () {
      endChat("close", { outcome: $("close-outcome").value, summary: "" });
    });
    refreshQueue();
    listen();
    $("q").focus();
  }
  loadEntries();
})();
