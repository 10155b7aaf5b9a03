// 台账工作台: sorting, filtering, printing, drag-and-drop upload and the collect progress.
// Plain JavaScript, no library; every page also works without it (plain forms).
"use strict";

(function () {
  const body = document.body;
  const csrf = body.dataset.csrf;

  // ---- sortable tables: click a header; numbers sort as numbers, the rest in Chinese order
  const collator = new Intl.Collator("zh-CN", { numeric: true });
  document.querySelectorAll("table.sortable").forEach((table) => {
    const heads = table.querySelectorAll("thead th");
    heads.forEach((th, col) => {
      th.title = "点击排序";
      th.addEventListener("click", () => {
        const asc = !th.classList.contains("asc");
        heads.forEach((h) => h.classList.remove("asc", "desc"));
        th.classList.add(asc ? "asc" : "desc");
        const numeric = th.dataset.sort === "num";
        const tbody = table.tBodies[0];
        const rows = Array.from(tbody.rows);
        const key = (row) => row.cells[col] ? row.cells[col].textContent.trim() : "";
        rows.sort((a, b) => {
          const x = key(a), y = key(b);
          const r = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : collator.compare(x, y);
          return asc ? r : -r;
        });
        rows.forEach((row) => tbody.appendChild(row));
      });
    });
  });

  // ---- filtering the units table: free text, or a status from a counter
  const units = document.getElementById("units");
  const filter = document.getElementById("filter");
  const shown = document.getElementById("shown");
  let status = "";
  function applyFilter() {
    if (!units) return;
    const words = (filter ? filter.value : "").trim().toLowerCase().split(/\s+/).filter(Boolean);
    let n = 0;
    Array.from(units.tBodies[0].rows).forEach((row) => {
      const text = row.textContent.toLowerCase();
      const tags = (row.dataset.status || "").split(" ");
      const ok = (!status || tags.includes(status)) && words.every((w) => text.includes(w));
      row.hidden = !ok;
      if (ok) n += 1;
    });
    if (shown) shown.textContent = `显示 ${n} / ${units.tBodies[0].rows.length} 个单位`;
    document.querySelectorAll("[data-filter-status]").forEach((b) => {
      b.classList.toggle("active", b.dataset.filterStatus === status);
    });
  }
  if (filter) filter.addEventListener("input", applyFilter);
  document.querySelectorAll("[data-filter-status]").forEach((button) => {
    button.addEventListener("click", () => {
      status = status === button.dataset.filterStatus ? "" : button.dataset.filterStatus;
      applyFilter();
    });
  });
  const clear = document.getElementById("filter-clear");
  if (clear) clear.addEventListener("click", () => { status = ""; if (filter) filter.value = ""; applyFilter(); });
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
  applyFilter();

  // ---- collect: show how far reading has come while the page waits for the round
  const collectForm = document.getElementById("collect-form");
  if (collectForm) {
    collectForm.addEventListener("submit", () => {
      const button = collectForm.querySelector("button[type=submit]");
      const state = document.getElementById("collect-state");
      const bar = document.getElementById("collect-progress");
      // Disabled after the browser has taken the form's values (a disabled field is not sent).
      setTimeout(() => { button.disabled = true; }, 0);
      state.textContent = "正在汇总…";
      const poll = () => {
        fetch("/progress", { headers: { Accept: "application/json" } })
          .then((r) => r.json())
          .then((p) => {
            if (p.total) {
              bar.hidden = false;
              bar.max = p.total;
              bar.value = p.done;
              state.textContent = `正在汇总：已读取 ${p.done} / ${p.total} 个台账文件…`;
            }
          })
          .catch(() => {})
          .finally(() => setTimeout(poll, 500));
      };
      setTimeout(poll, 300);
    });
  }

  // ---- other long actions (从邮箱收取): the button waits, and says so
  document.querySelectorAll("form.busy-form").forEach((busyForm) => {
    busyForm.addEventListener("submit", () => {
      const button = busyForm.querySelector("button[type=submit]");
      setTimeout(() => { button.disabled = true; }, 0);
      const state = busyForm.querySelector(".busy-state");
      if (state) state.textContent = busyForm.dataset.busy || "请稍候…";
    });
  });

  // ---- upload: drag and drop (or choose), one request with a progress bar
  const form = document.getElementById("upload-form");
  if (!form) return;
  const drop = document.getElementById("drop");
  const input = document.getElementById("files");
  const bar = document.getElementById("upload-progress");
  const state = document.getElementById("upload-state");
  const results = document.getElementById("upload-results");
  const maxFile = Number(body.dataset.maxFile), maxTotal = Number(body.dataset.maxTotal);
  const maxFiles = Number(body.dataset.maxFiles);
  const mb = (n) => `${Math.round(n / 1048576)} MB`;

  function report(items) {
    results.textContent = "";
    items.forEach((item) => {
      const li = document.createElement("li");
      li.className = item.cls;
      const b = document.createElement("b");
      b.textContent = item.name;
      li.append(b, "：" + item.note);
      results.appendChild(li);
    });
  }

  function send(files) {
    files = Array.from(files);
    if (!files.length) return;
    const total = files.reduce((s, f) => s + f.size, 0);
    const big = files.find((f) => f.size > maxFile);
    if (big) { report([{ cls: "error", name: big.name, note: `超过单个文件 ${mb(maxFile)} 的上限，未上传` }]); return; }
    if (files.length > maxFiles) { report([{ cls: "error", name: `${files.length} 个文件`, note: `一次最多 ${maxFiles} 个，请分批上传` }]); return; }
    if (total > maxTotal) { report([{ cls: "error", name: `合计 ${mb(total)}`, note: `超过一次 ${mb(maxTotal)} 的上限，请分批上传` }]); return; }
    const data = new FormData();
    data.append("csrf", csrf);
    files.forEach((f) => { data.append("modified", String(f.lastModified || "")); data.append("files", f, f.name); });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/upload");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    bar.hidden = false;
    bar.value = 0;
    state.textContent = `正在上传 ${files.length} 个文件…`;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = { error: "服务器的回答无法读取" }; }
      if (xhr.status === 200 && answer.saved) {
        bar.value = 100;
        const n = answer.saved.filter((s) => s.name).length;
        state.textContent = `上传完成：收件箱新增 ${n} 个文件。请点击“重新汇总”。`;
        report(answer.saved.map((s) => ({ cls: s.name ? "ok" : "skip", name: s.original, note: s.note })));
      } else {
        state.textContent = "上传失败";
        report([{ cls: "error", name: "上传失败", note: answer.error || `服务器返回 ${xhr.status}` }]);
      }
    });
    xhr.addEventListener("error", () => {
      state.textContent = "上传失败";
      report([{ cls: "error", name: "上传失败", note: "连接中断：工作台是否已关闭？" }]);
    });
    xhr.send(data);
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); send(input.files); input.value = ""; });
  input.addEventListener("change", () => { send(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => send(e.dataTransfer.files));
})();
