"use strict";
(function () {
  var tools = document.getElementById("tools");
  tools.hidden = false;
  document.documentElement.setAttribute("data-script", "ran");
  function all(open) {
    var list = document.querySelectorAll("#tree details");
    for (var i = 0; i < list.length; i++) { list[i].open = open; }
  }
  document.getElementById("open-all").addEventListener("click", function () { all(true); });
  document.getElementById("close-all").addEventListener("click", function () { all(false); });
  document.getElementById("path-filter").addEventListener("input", function (event) {
    var text = event.target.value;
    var files = document.querySelectorAll("#tree details.file");
    for (var i = 0; i < files.length; i++) {
      var shown = files[i].querySelector(".path");
      var path = shown ? shown.textContent : "";
      files[i].classList.toggle("hidden-by-filter", text !== "" && path.indexOf(text) < 0);
    }
  });
})();
