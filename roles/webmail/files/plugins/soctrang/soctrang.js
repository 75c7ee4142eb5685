/**
 * soctrang plugin: shows the password notice the server chose for this page
 * (rcmail.env.soctrang_password_notice, set by soctrang.php: the expiry date on
 * the mail screens, why the change is required on the password page).
 *
 * The notice is built from plain text with DOM calls (no HTML from the server),
 * as an Elastic alert above the message list, or under the page header where
 * there is no list (message view, compose, the password page).
 */
(function () {
  'use strict';

  // Elastic's own classes for a notice box: icon, tint, dark mode (as its .boxwarning).
  var TYPES = {
    warning: 'alert-warning boxwarning',
    error: 'alert-danger boxerror',
    confirmation: 'alert-success boxconfirmation'
  };

  function build(notice) {
    var box = document.createElement('div'),
      icon = document.createElement('i'),
      body = document.createElement('span'),
      link;

    box.id = 'soctrang-password-notice';
    box.className = 'ui alert ' + (TYPES[notice.type] || 'alert-info boxinformation');
    box.setAttribute('role', notice.type === 'error' ? 'alert' : 'status');
    icon.className = 'icon';
    body.appendChild(document.createTextNode(notice.text));

    if (notice.link && notice.link.href) {
      link = document.createElement('a');
      link.href = notice.link.href;
      // The password page may be inside the settings frame: leave it as a whole.
      link.target = '_top';
      link.textContent = notice.link.text;
      body.appendChild(document.createTextNode(' '));
      body.appendChild(link);
    }

    box.appendChild(icon);
    box.appendChild(body);
    return box;
  }

  function place(box) {
    var list = document.getElementById('messagelist-content'),
      content = document.getElementById('layout-content'),
      header;

    if (list && list.parentNode) {
      list.parentNode.insertBefore(box, list);
    }
    else if (content) {
      header = content.querySelector(':scope > .header');
      content.insertBefore(box, header ? header.nextSibling : content.firstChild);
    }
    else {
      document.body.insertBefore(box, document.body.firstChild);
    }
  }

  if (window.rcmail) {
    rcmail.addEventListener('init', function () {
      var notice = rcmail.env.soctrang_password_notice;

      if (notice && notice.text && !document.getElementById('soctrang-password-notice')) {
        place(build(notice));
      }
    });
  }
})();
