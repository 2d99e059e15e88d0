// Puts a chosen notice file into the import form's text box; the server checks it exactly as
// pasted text, so this needs no multipart upload and the file never bypasses the checks.
document.addEventListener('DOMContentLoaded', function () {
  var input = document.getElementById('notice-file');
  var text = document.querySelector('textarea[name=text]');
  if (!input || !text) {
    return;
  }
  input.addEventListener('change', function () {
    var file = input.files[0];
    if (!file) {
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      text.value = reader.result;
    };
    reader.readAsText(file, 'utf-8');
  });
});
