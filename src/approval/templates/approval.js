// Uploads a file chosen on the item page and attaches it to the material or basis line.
document.addEventListener('DOMContentLoaded', function () {
  var box = document.getElementById('item-files');
  if (!box) {
    return;
  }
  var code = box.getAttribute('data-code');
  var csrf = box.getAttribute('data-csrf');
  var status = document.getElementById('file-status');
  function fail(r) {
    return r.json().then(function (v) {
      throw new Error(v.error ? v.error.message : '上传失败');
    });
  }
  box.querySelectorAll('input[type=file]').forEach(function (input) {
    input.addEventListener('change', function () {
      var file = input.files[0];
      if (!file) {
        return;
      }
      status.textContent = '正在上传 ' + file.name + ' ……';
      fetch('/api/approval/files?name=' + encodeURIComponent(file.name), {
        method: 'POST',
        headers: { 'x-csrf-token': csrf, 'content-type': 'application/octet-stream' },
        body: file
      }).then(function (r) {
        return r.ok ? r.json() : fail(r);
      }).then(function (up) {
        return fetch('/api/approval/items/' + encodeURIComponent(code) + '/files', {
          method: 'POST',
          headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' },
          body: JSON.stringify({
            slot: input.getAttribute('data-slot'),
            position: Number(input.getAttribute('data-position')),
            hash: up.hash,
            name: up.name
          })
        });
      }).then(function (r) {
        return r.ok ? location.reload() : fail(r);
      }).catch(function (e) {
        status.textContent = e.message;
      });
    });
  });
});

// At the window: a scanned material is uploaded when chosen; its hash goes into the acceptance
// form's hidden fields and the material is ticked as received.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('accept-form');
  if (!form) {
    return;
  }
  var csrf = form.querySelector('input[name=_csrf]').value;
  form.querySelectorAll('input[type=file][data-material]').forEach(function (input) {
    input.addEventListener('change', function () {
      var file = input.files[0];
      var i = input.getAttribute('data-material');
      var note = document.getElementById('scan-' + i);
      if (!file) {
        return;
      }
      note.textContent = '正在上传……';
      fetch('/api/approval/files?name=' + encodeURIComponent(file.name), {
        method: 'POST',
        headers: { 'x-csrf-token': csrf, 'content-type': 'application/octet-stream' },
        body: file
      }).then(function (r) {
        return r.json().then(function (v) {
          if (!r.ok) {
            throw new Error(v.error ? v.error.message : '上传失败');
          }
          return v;
        });
      }).then(function (up) {
        form.querySelector('input[name=h' + i + ']').value = up.hash;
        form.querySelector('input[name=n' + i + ']').value = up.name;
        form.querySelector('input[name=s' + i + ']').value = up.size;
        form.querySelector('input[name=m' + i + ']').checked = true;
        note.textContent = '已上传 ' + up.name;
      }).catch(function (e) {
        note.textContent = e.message;
      });
    });
  });
});
