// Measures the leaderboard Space as rendered (run in the page by tests/space/test_space.py over CDP).
// Returns, per column header: its text, the words that wrap inside themselves (a word whose characters lie on
// more than one line), its number of lines, whether it is visible now, whether a scroll container holds it and
// whether scrolling that container shows it; per table row: the model id and whether it is cut; the flag badges;
// the legend's text.
(() => {
  const root = document.querySelector('#leaderboard-table');
  const viewport = document.documentElement.clientWidth;
  const visible = (el) => {  // inside the viewport and every ancestor that clips sideways
    const box = el.getBoundingClientRect();
    let left = 0;
    let right = viewport;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') {
        const clip = a.getBoundingClientRect();
        left = Math.max(left, clip.left);
        right = Math.min(right, clip.right);
      }
    }
    return box.width > 0 && box.left >= left - 1 && box.right <= right + 1;
  };
  const scroller = (el) => {
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const overflow = getComputedStyle(a).overflowX;
      if ((overflow === 'auto' || overflow === 'scroll') && a.scrollWidth > a.clientWidth) return a;
    }
    return null;
  };
  const textNodes = (el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
    return nodes;
  };
  const lineTops = (range) => new Set([...range.getClientRects()].filter((b) => b.width > 0).map((b) => Math.round(b.top)));

  const ths = [...root.querySelectorAll('thead th')];
  const first = ths[0];
  let pinnedStaysVisible = true;
  const headers = ths.map((th) => {
    const label = th.querySelector('.header') || th;
    const broken = [];
    const lines = new Set();
    for (const node of textNodes(label)) {
      for (const word of node.textContent.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        if (lineTops(range).size > 1) broken.push(word[0]);
      }
      const whole = document.createRange();
      whole.selectNodeContents(node);
      lineTops(whole).forEach((top) => lines.add(top));
    }
    const visibleNow = visible(th);
    const box = scroller(th);
    let visibleScrolled = visibleNow;
    if (!visibleNow && box) {
      th.scrollIntoView({block: 'nearest', inline: 'end'});
      visibleScrolled = visible(th);
      pinnedStaysVisible = pinnedStaysVisible && visible(first);
      box.scrollLeft = 0;
    }
    return {text: label.textContent.trim(), broken, lines: lines.size, visibleNow, scrollable: !!box, visibleScrolled};
  });
  window.scrollTo(0, 0);
  const rows = [...root.querySelectorAll('.virtual-row')];  // the body rows (the table is virtualised)
  const models = rows
    .map((row) => row.querySelector('[role=gridcell]'))
    .map((cell) => {
      const text = cell.querySelector('span') || cell;
      return {text: text.textContent.trim(), cut: text.scrollWidth > text.clientWidth + 1 || !visible(cell)};
    });
  const badges = [...root.querySelectorAll('.virtual-row .flag')].map((b) => ({text: b.textContent.trim(), title: b.title}));
  const legend = (document.querySelector('#leaderboard-legend') || {}).textContent || '';
  return {viewport, headers, models, badges, legend, pinnedStaysVisible};
})()
