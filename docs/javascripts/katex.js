// Typesets the page's equations with KaTeX, which the site carries in katex/ (mkdocs.yml loads
// katex.min.js and its auto-render extension before this file).
//
// pymdownx.arithmatex (generic mode) leaves each equation as TeX inside an element of class
// "arithmatex": \( ... \) in a line of text, \[ ... \] on a line of its own. Only those elements
// are typeset, so a dollar sign or a backslash elsewhere on a page is never taken for math.
(function () {
  "use strict";

  var DELIMITERS = [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true },
  ];

  function typeset(root) {
    var equations = root.querySelectorAll(".arithmatex");
    for (var i = 0; i < equations.length; i++) {
      // throwOnError: false shows a broken equation as red TeX instead of stopping the page.
      renderMathInElement(equations[i], { delimiters: DELIMITERS, throwOnError: false });
    }
  }

  // Material's document$ announces every page it shows: the first one, and each page that
  // instant navigation (if turned on) swaps in without running this script again.
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () {
      typeset(document);
    });
  } else {
    typeset(document); // this script runs at the end of <body>, after the content
  }
})();
