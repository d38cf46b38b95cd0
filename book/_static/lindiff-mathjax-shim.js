// The ipywidgets HTML manager typesets widget labels with the MathJax 2 API
// (MathJax.Hub.Queue); the site serves MathJax 3, which has no Hub. Translate
// that one call so rendering a widget never throws. Loaded deferred, right
// after MathJax itself (see book/_ext/offline_site.py).
(function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub) return;
  mj.Hub = {
    Queue: function (job) {
      var el = Array.isArray(job) ? job[2] : undefined;
      if (mj.startup && mj.startup.promise && mj.typesetPromise) {
        mj.startup.promise
          .then(function () { return mj.typesetPromise(el ? [el] : undefined); })
          .catch(function () {});
      }
    }
  };
})();
