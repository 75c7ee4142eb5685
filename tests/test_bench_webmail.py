"""tools/bench_webmail.py: how it reads Roundcube's pages and answers.

The benchmark itself runs against the lab (make bench-webmail). Here, what it
concludes from a page: a login counts only when the mail screen came with its
request token and the list of INBOX added a message; a send only when the page
told the compose screen so. The snippets are in the form Roundcube 1.6 (elastic
skin, Debian 13) writes them, shortened.
"""

from __future__ import annotations

import bench_webmail as bench
import pytest

LOGIN_PAGE = """<form id="login-form" name="login-form" method="post" class="propform" action="/?_task=login">
<input type="hidden" name="_token" value="uLIwEwg1qzo15dvS6UXAIH7uZs1WTgrA">
<input type="hidden" name="_task" value="login"><input type="hidden" name="_action" value="login">
<input type="hidden" name="_timezone" id="rcmlogintz" value="_default_">
<input type="hidden" name="_url" id="rcmloginurl" value="_task=mail&amp;_mbox=INBOX">
<input name="_user" id="rcmloginuser" required size="40" autocapitalize="off" autocomplete="off" type="text">
</form>
<script>
rcmail.set_env({"task":"login","locale":"vi_VN","comm_path":"/?_task=login","request_token":"uLIwEwg1qzo15dvS6UXAIH7uZs1WTgrA"});
rcmail.display_message("Không đăng nhập được","warning",0);
rcmail.display_message("Địa chỉ thư hoặc mật khẩu không đúng.","warning",0);
rcmail.init();
</script>"""

MAIL_PAGE = """<script>
rcmail.set_env({"task":"mail","action":"","comm_path":"/?_task=mail","request_token":"roAQsRzKOic7VvZnLau854zvj16Ih3br"});
rcmail.set_env({"mailbox":"INBOX","note":"a brace } and a call ); in a string"});
rcmail.gui_object('messagelist', 'messagelist');
</script>"""

LIST_ANSWER = (
    b'{"action":"list","env":{"mailbox":"INBOX","messagecount":1},"exec":"this.set_rowcount(\\"Th\\u01b0 t\\u1eeb 1'
    b' \\u0111\\u1ebfn 1\\",\\"INBOX\\");\\nthis.add_message_row(1,{\\"subject\\":\\"Ch\\u00e0o m\\u1eebng\\"},'
    b'{\\"ctype\\":\\"text/plain\\",\\"mbox\\":\\"INBOX\\"},false);\\nthis.set_quota({\\"used\\":4});\\n"}'
)
EMPTY_LIST_ANSWER = (
    b'{"action":"list","env":{"messagecount":0},"exec":"this.set_rowcount(\\"Th\\u01b0 m\\u1ee5c\\");\\n"}'
)

COMPOSE_PAGE = """<select name="_from" id="_from" tabindex="1" onchange="rcmail.change_identity(this)">
<option value="3">ttcns.sotttt@soctrang.gov.vn</option>
<option value="7" selected>bdnhan@soctrang.gov.vn</option></select>"""

UPLOAD_ANSWER = (
    '{"action":"upload","exec":"this.add2attachment_list(\\"rcmfile21796203114025436300\\",{\\"name\\":'
    '\\"van-ban.pdf\\",\\"complete\\":true},\\"upload1796203114182\\");\\nthis.auto_save_start(false);\\n"}'
)

SENT_PAGE = """<script>
if (window.parent && parent.rcmail) {
	parent.rcmail.iframe_loaded("loading1");
	parent.rcmail.remove_compose_data("7202654566b0fe2ed0bafe");
	parent.rcmail.sent_successfully("confirmation","Thư đã được gửi thành công.",["Sent"],false);
}
</script>"""


def test_the_login_form_is_posted_with_its_own_hidden_fields() -> None:
    assert bench.hidden_fields(LOGIN_PAGE) == {
        "_token": "uLIwEwg1qzo15dvS6UXAIH7uZs1WTgrA",
        "_task": "login",
        "_action": "login",
        "_timezone": "_default_",
        "_url": "_task=mail&_mbox=INBOX",
    }


def test_the_environment_of_every_set_env_is_read_whole() -> None:
    environment = bench.page_environment(MAIL_PAGE)
    assert environment["task"] == "mail"
    assert environment["request_token"] == "roAQsRzKOic7VvZnLau854zvj16Ih3br"
    assert environment["note"] == "a brace } and a call ); in a string"


def test_a_page_without_environment_has_none() -> None:
    assert bench.page_environment("<html><body>502 Bad Gateway</body></html>") == {}


def test_the_refusal_shown_is_the_last_message_queued() -> None:
    # Roundcube queues "login failed", the soctrang plugin its reason after it; app.js shows the last.
    assert bench.shown_message(LOGIN_PAGE) == "Địa chỉ thư hoặc mật khẩu không đúng."
    assert bench.shown_message(MAIL_PAGE) == ""


@pytest.mark.parametrize(
    ("answer", "listed"),
    [
        (LIST_ANSWER, 1),
        (EMPTY_LIST_ANSWER, 0),
        (b"<html>502 Bad Gateway</html>", 0),  # not JSON: nothing listed, an error
        (b'["not", "an", "answer"]', 0),
    ],
)
def test_only_rows_added_to_the_list_count_as_listed(answer: bytes, listed: int) -> None:
    assert bench.listed_messages(answer) == listed


def test_the_compose_screen_sends_from_the_identity_it_selects() -> None:
    assert bench.sender_identity(COMPOSE_PAGE) == "7"
    assert bench.sender_identity(COMPOSE_PAGE.replace(" selected", "")) == "3"
    assert bench.sender_identity("<form></form>") == ""


def test_an_upload_answer_names_its_attachments() -> None:
    assert bench.uploaded_attachments(UPLOAD_ANSWER) == ["21796203114025436300"]
    refused = '{"action":"upload","exec":"this.display_message(\\"T\\u1ec7p qu\\u00e1 l\\u1edbn\\",\\"error\\",0);"}'
    assert bench.uploaded_attachments(refused) == []


def test_a_message_is_sent_only_when_the_page_says_so() -> None:
    assert bench.sent_folders(SENT_PAGE) == ["Sent"]
    assert bench.sent_folders(SENT_PAGE.replace('["Sent"],false', '["Sent"],true')) == []  # sent, not saved
    assert bench.sent_folders('<script>parent.rcmail.display_message("Lỗi SMTP","error",0);</script>') is None


def test_cookies_follow_their_set_cookie_headers() -> None:
    jar = bench.updated_cookies({}, ["roundcube_sessid=a1; path=/; secure; HttpOnly; SameSite=Strict"])
    jar = bench.updated_cookies(
        jar,
        [
            "roundcube_sessid=b2; path=/; secure; HttpOnly; SameSite=Strict",
            "roundcube_sessauth=c3-1796202900; path=/; secure; HttpOnly; SameSite=Strict",
        ],
    )
    assert jar == {"roundcube_sessid": "b2", "roundcube_sessauth": "c3-1796202900"}
    # PHP deletes a cookie with a past expiry, which it also writes as Max-Age=0.
    deleted = "roundcube_sessauth=-del-; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/; secure"
    assert bench.updated_cookies(jar, [deleted]) == {"roundcube_sessid": "b2"}


def test_the_upload_body_is_one_file_part() -> None:
    body, content_type = bench.multipart("_attachments[]", "van-ban.pdf", "application/pdf", b"%PDF-1.7\r\n")
    boundary = content_type.removeprefix("multipart/form-data; boundary=")
    assert content_type != boundary
    expected = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="_attachments[]"; filename="van-ban.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n"
        f"\r\n--{boundary}--\r\n"
    )
    assert body == expected.encode()
