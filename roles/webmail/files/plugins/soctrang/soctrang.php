<?php

/**
 * soctrang - the Sóc Trăng webmail's side of the password policy (Điều 8) and of
 * the mail store's login refusals.
 *
 * a. A password that must be changed. slapd marks it with pwdReset=TRUE (new,
 *    reset by an operator, or past its maximum age: the daily job of roles/slapd).
 *    Dovecot refuses such a login everywhere except from the webmail hosts, so that
 *    the user can change it here; in return the webmail lets such a session do
 *    nothing else: every request but the password plugin's page, its save, and
 *    keep-alive is sent to that page, server-side (hook `ready`, after Roundcube
 *    has checked the session and the request token; `startup` would run before
 *    that check, for sessions about to be rejected too, and a task it switches to
 *    has not loaded the password plugin's actions). The answer is read from the
 *    directory with the webmail's read-only account at login (`login_after`),
 *    kept in the session, read again while it says "must change" and at least
 *    every soctrang_password_state_ttl seconds otherwise, and right after a
 *    successful change (`password_change`).
 * b. The expiry notice. From soctrang_password_warning_days before pwdChangedTime
 *    + soctrang_password_max_age_days, the mail screens show when it expires (dd/mm/yyyy)
 *    with a link to the password page (`render_page`); a changed password moves
 *    the date, so the notice goes with the change.
 * c. Why a login failed. Dovecot answers a locked, disabled or must-change
 *    account with `NO [CONTACTADMIN] <Vietnamese reason>`; Roundcube would show
 *    "login failed". The reason is shown instead (`login_failed`). A wrong
 *    password and an unknown address both get Dovecot's [AUTHENTICATIONFAILED]
 *    and here the same one message, so the login form does not tell which
 *    addresses exist; so does Roundcube's own login_rate_limit refusal, which
 *    only addresses that logged in before can meet.
 * d. The user's own address for Dovecot. Roundcube sends IMAP ID only after the
 *    login (`ident`, #7517), too late for Dovecot's login process; `preauth_ident`
 *    (rcube_imap_generic::connect, #7860) is sent before it. `storage_connect`
 *    adds x-originating-ip (rcube_utils::remote_addr(), which honours
 *    proxy_whitelist) there, so Dovecot's penalty for failed logins counts the
 *    guesser, not the webmail (Dovecot trusts it from login_trusted_networks only).
 *
 * e. Unit mailboxes delegated to the user (Điều 12). At login (`login_after`), in
 *    the same directory search as the password state: the units that name the user
 *    in socMailManager. Their folders (shared/<unit address>/, Dovecot's ACLs) are
 *    subscribed so that they appear in the folder list; an identity is kept for
 *    each unit whose managers may send as it (socMailSendAsManagers, which the
 *    MTA's sender rules read too), and an identity for any other address is
 *    removed. With identities_level 1 a user cannot type an address into an
 *    identity, so the identities are exactly what the MTA accepts.
 *
 * Also: the password plugin texts the driver's messages depend on
 * (localization/password/).
 *
 * Configuration: config.inc.php.dist (soctrang_* keys). The password driver
 * plugins/password/drivers/soctrang_ppolicy.php shares the soctrang_ldap_* keys and
 * soctrang_directory.php.
 */
class soctrang extends rcube_plugin
{
    private const SESSION_KEY = 'soctrang_password';
    /** The delegated mailboxes of the session's user: address => unit name (e). */
    private const DELEGATED_KEY = 'soctrang_delegated';

    /** The password plugin's page and its form's target. */
    private const PASSWORD_TASK = 'settings';
    private const PASSWORD_ACTIONS = ['plugin.password', 'plugin.password-save'];

    /**
     * What a must-change session may still do besides the password page: keep the
     * session alive (any task), and the settings task's periodic refresh (the mail
     * task's "refresh" is check-recent, which lists new mail: not allowed).
     */
    private const ALLOWED_ANYWHERE = ['keep-alive'];
    private const ALLOWED_IN_SETTINGS = ['refresh'];

    /** The mail screens that carry the expiry notice (templates, never framed ones). */
    private const NOTICE_TEMPLATES = ['mail', 'message', 'compose'];

    private rcmail $rc;

    /** Set by `password_change` when this request's change ended a must-change state. */
    private bool $must_change_ended = false;

    public function init(): void
    {
        $this->rc = rcmail::get_instance();
        $this->load_config();
        require_once __DIR__ . '/soctrang_directory.php';
        $this->add_texts('localization/');

        $this->add_hook('storage_connect', [$this, 'storage_connect']);
        $this->add_hook('login_after', [$this, 'login_after']);
        $this->add_hook('login_failed', [$this, 'login_failed']);
        $this->add_hook('ready', [$this, 'ready']);
        $this->add_hook('password_change', [$this, 'password_change']);
        $this->add_hook('render_page', [$this, 'render_page']);
        $this->add_hook('render_mailboxlist', [$this, 'render_mailboxlist']);

        if ($this->rc->task === self::PASSWORD_TASK) {
            $this->replace_password_plugin_texts();
        }
        if ($this->rc->task === 'mail' && in_array($this->rc->action, ['', 'show'], true)) {
            $this->add_report_button();
        }
    }

    // ------------------------------------------------------------------ f. "Báo thư nghi ngờ"

    /**
     * Điều 9.4's button, in the toolbar where the stock "Thư rác" button would be
     * (markasjunk_toolbar = false puts that one into the mark menu). It runs
     * markasjunk's command, which moves the message to Junk; the mail store then
     * sends the report (IMAPSieve), as it does for a move by any IMAP client. The
     * stock button's label is Roundcube's word for the Junk folder, which this
     * button must not rename.
     */
    private function add_report_button(): void
    {
        $this->include_stylesheet($this->local_skin_path() . '/soctrang.css');
        $this->add_button([
            'command' => 'plugin.markasjunk.junk',
            'type' => 'link',
            'class' => 'button buttonPas junk disabled',
            'classact' => 'button junk',
            'classsel' => 'button junk pressed',
            'title' => 'soctrang.reporttitle',
            'innerclass' => 'inner',
            'label' => 'soctrang.report',
        ], 'toolbar');
    }

    // ------------------------------------------------------------------ d. IMAP ID

    /** Every IMAP connection (the login's and each request's) names the user's address. */
    public function storage_connect(array $args): array
    {
        $address = rcube_utils::remote_addr();
        if (filter_var($address, FILTER_VALIDATE_IP) !== false) {
            $ident = (array) ($args['preauth_ident'] ?? []);
            $ident['x-originating-ip'] = $address;
            $args['preauth_ident'] = $ident;
        }

        return $args;
    }

    // ------------------------------------------------------------------ a. must change

    /**
     * Right after the login: the state read fresh, with the delegated mailboxes (e);
     * a must-change user lands on the password page.
     */
    public function login_after(array $args): array
    {
        $facts = $this->directory()->login_facts((string) $this->rc->get_user_name());
        $state = $this->remember_password_state($facts);
        if (is_array($facts['delegated'] ?? null)) {
            $this->follow_delegations($facts['delegated'], (string) $facts['cn']);
        }
        if (!$this->must_change($state)) {
            return $args;
        }

        // exec_hook merges a handler's answer over the arguments: clear every key
        // (a restored _url, _mbox...) so that only the password page remains.
        return ['_task' => self::PASSWORD_TASK, '_action' => self::PASSWORD_ACTIONS[0]]
            + array_fill_keys(array_keys($args), null);
    }

    /** Every authenticated request, before its action runs. */
    public function ready(array $args): array
    {
        if (empty($this->rc->user->ID)) {
            return $args;
        }
        $task = (string) ($args['task'] ?? '');
        $action = (string) ($args['action'] ?? '');

        if ($this->allowed_while_must_change($task, $action)) {
            return $args;
        }
        if ($this->must_change($this->password_state())) {
            $this->send_to_password_page();
        }

        return $args;
    }

    /** After the password plugin saved a new password: read the state again. */
    public function password_change(array $args): array
    {
        $before = $_SESSION[self::SESSION_KEY] ?? null;
        $after = $this->password_state(true);
        $this->must_change_ended = is_array($before) && $this->must_change($before) && !$this->must_change($after);

        return [];
    }

    private function allowed_while_must_change(string $task, string $action): bool
    {
        return in_array($action, self::ALLOWED_ANYWHERE, true)
            || ($task === self::PASSWORD_TASK
                && (in_array($action, self::PASSWORD_ACTIONS, true) || in_array($action, self::ALLOWED_IN_SETTINGS, true)));
    }

    /** Ends the request with a redirect to the password page, whatever kind of request it is. */
    private function send_to_password_page(): never
    {
        $target = ['_task' => self::PASSWORD_TASK, '_action' => self::PASSWORD_ACTIONS[0]];
        $output = $this->rc->output;

        if ($output->type === 'html' && ($output->framed || $output->get_env('framed'))) {
            // A page inside a frame: move the whole window, as Roundcube does for a
            // session error (commands of a framed page go to the parent).
            $output->command('redirect', $this->rc->url($target));
            $output->send('iframe');
        }
        // HTML: a Location header; AJAX (rcmail_output_json): a redirect command.
        $output->redirect($target);
        exit;
    }

    /**
     * The password state of the session's user, from the session or the directory:
     * ['known' => bool, 'must_change' => bool, 'changed' => ?int, 'read_at' => int].
     * Read again when asked ($fresh), while it says "must change" (so a change made
     * elsewhere counts at once), when it is unknown, and after the TTL.
     */
    private function password_state(bool $fresh = false): array
    {
        $cached = $_SESSION[self::SESSION_KEY] ?? null;
        $now = time();
        $ttl = max(0, (int) $this->rc->config->get('soctrang_password_state_ttl', 300));

        if (!$fresh && is_array($cached) && !empty($cached['known']) && empty($cached['must_change'])
            && $now - (int) ($cached['read_at'] ?? 0) < $ttl) {
            return $cached;
        }

        return $this->remember_password_state($this->directory()->password_state((string) $this->rc->get_user_name()));
    }

    /** Keeps the directory's answer ($read: soctrang_directory::password_state, or null) in the session. */
    private function remember_password_state(?array $read): array
    {
        $cached = $_SESSION[self::SESSION_KEY] ?? null;
        $now = time();
        if ($read !== null) {
            $state = ['known' => true, 'must_change' => $read['must_change'], 'changed' => $read['changed'], 'read_at' => $now];
        } elseif (is_array($cached) && !empty($cached['known'])) {
            // The directory did not answer: keep its last answer until the next try.
            $state = ['read_at' => $now] + $cached;
        } else {
            $state = ['known' => false, 'must_change' => false, 'changed' => null, 'read_at' => $now];
        }
        $_SESSION[self::SESSION_KEY] = $state;

        return $state;
    }

    /**
     * Whether the session is held on the password page. An unknown state counts as
     * "must change" unless soctrang_password_state_fail_closed is false: a webmail
     * that cannot read the directory (a wrong service password, say) must not
     * quietly stop enforcing the change it is trusted with.
     */
    private function must_change(array $state): bool
    {
        return $state['must_change']
            || (!$state['known'] && (bool) $this->rc->config->get('soctrang_password_state_fail_closed', true));
    }

    private function directory(): soctrang_directory
    {
        return soctrang_directory::from_config($this->rc->config);
    }

    // ------------------------------------------------------------------ e. delegated mailboxes

    /**
     * @param list<array{mail: string, name: string, send_as: bool}> $delegated
     * @param string $own_name the user's name in the directory, for an own identity without one
     */
    private function follow_delegations(array $delegated, string $own_name): void
    {
        $_SESSION[self::DELEGATED_KEY] = array_column($delegated, 'name', 'mail');
        $this->subscribe_delegated_folders(array_column($delegated, 'mail'));
        $send_as = [];
        foreach ($delegated as $mailbox) {
            if ($mailbox['send_as']) {
                $send_as[$mailbox['mail']] = $mailbox['name'];
            }
        }
        $this->keep_identities($send_as, $own_name);
    }

    /**
     * In the folder list, the delegated mailboxes under a Vietnamese heading instead of
     * the namespace's "shared", each by its unit's name instead of its address.
     */
    public function render_mailboxlist(array $args): array
    {
        [$prefix] = $this->shared_namespace();
        $root = rtrim($prefix, (string) $args['delimiter']);
        if ($root === '' || !isset($args['list'][$root])) {
            return $args;
        }
        $names = (array) ($_SESSION[self::DELEGATED_KEY] ?? []);
        $args['list'][$root]['name'] = $this->gettext('delegatedmailboxes');
        foreach ((array) ($args['list'][$root]['folders'] ?? []) as $key => $folder) {
            $address = substr((string) $folder['id'], strlen($root) + 1);
            if (isset($names[$address])) {
                $args['list'][$root]['folders'][$key]['name'] = $names[$address];
            }
        }

        return $args;
    }

    /** The folders of each delegated mailbox the user does not list yet (an unsubscribed folder is hidden). */
    private function subscribe_delegated_folders(array $addresses): void
    {
        [$prefix, $delimiter] = $this->shared_namespace();
        if (!$addresses || $prefix === '') {
            return;
        }
        $storage = $this->rc->get_storage();
        $subscribed = $storage->list_folders_subscribed('', '*', 'mail', null, true);
        foreach ($addresses as $address) {
            // Dovecot's shared namespace lists the owner's INBOX as <prefix><owner's
            // login>, and their other folders below it.
            $folders = array_merge(
                $storage->list_folders('', $prefix . $address, 'mail', null, true),
                $storage->list_folders('', $prefix . $address . $delimiter . '*', 'mail', null, true),
            );
            $missing = array_values(array_diff($folders, $subscribed));
            if ($missing) {
                $storage->subscribe($missing);
            }
        }
    }

    /**
     * The prefix and delimiter of the delegated mailboxes: Dovecot's `type = shared`
     * namespace, which IMAP announces as the "other users" one (RFC 2342); ['', '']
     * when there is none.
     *
     * @return array{0: string, 1: string}
     */
    private function shared_namespace(): array
    {
        $namespace = $this->rc->get_storage()->get_namespace('other');

        return [(string) ($namespace[0][0] ?? ''), (string) ($namespace[0][1] ?? '')];
    }

    /** @param array<string, string> $send_as unit address => unit name */
    private function keep_identities(array $send_as, string $own_name): void
    {
        $user = $this->rc->user;
        $own = strtolower((string) $this->rc->get_user_email());
        foreach ($user->list_identities() as $identity) {
            $address = strtolower(rcube_utils::idn_to_utf8((string) $identity['email']));
            if ($address === $own) {
                // Roundcube creates it nameless: "Dương Chí Nguyên <dcnguyen@…>" is how a letter is signed.
                if (trim((string) $identity['name']) === '' && $own_name !== '') {
                    $user->update_identity($identity['identity_id'], ['name' => $own_name]);
                }
                continue;
            }
            if (isset($send_as[$address])) {
                unset($send_as[$address]); // kept, with the user's own edits to its name or signature
                continue;
            }
            $user->delete_identity($identity['identity_id']);
        }
        foreach ($send_as as $address => $name) {
            $user->insert_identity(['name' => $name, 'email' => $address, 'standard' => 0]);
        }
    }

    // ------------------------------------------------------------------ b. notices

    /** Puts the password notice (if any) into the page being rendered, for soctrang.js. */
    public function render_page(array $args): array
    {
        if (empty($this->rc->user->ID) || $this->rc->output->type !== 'html') {
            return $args;
        }

        $notice = null;
        if ($this->rc->task === self::PASSWORD_TASK && in_array($this->rc->action, self::PASSWORD_ACTIONS, true)) {
            $notice = $this->password_page_notice();
        } elseif ($this->rc->task === 'mail' && in_array($args['template'] ?? '', self::NOTICE_TEMPLATES, true)
            && !$this->rc->output->framed) {
            $notice = $this->expiry_notice($this->password_state());
        }

        if ($notice !== null) {
            $this->rc->output->set_env('soctrang_password_notice', $notice);
            $this->include_script('soctrang.js');
            $this->include_stylesheet($this->local_skin_path() . '/soctrang.css');
        }

        return $args;
    }

    /** On the password page: why the change is required, or that it is done. */
    private function password_page_notice(): ?array
    {
        if ($this->must_change_ended) {
            return $this->notice('confirmation', $this->gettext('passwordchanged'),
                ['href' => $this->rc->url(['_task' => 'mail']), 'text' => $this->gettext('openmail')]);
        }

        $state = $this->password_state();
        if (!$this->must_change($state)) {
            return null;
        }
        if (!$state['known']) {
            return $this->notice('error', $this->gettext(['name' => 'passwordstateunknown', 'vars' => ['support' => $this->support()]]));
        }
        $max_age = (int) $this->rc->config->get('soctrang_password_max_age_days', 0);
        if ($max_age > 0 && $state['changed'] !== null && $state['changed'] + $max_age * 86400 <= time()) {
            return $this->notice('warning', $this->gettext(['name' => 'mustchangeexpired', 'vars' => ['days' => $max_age]]));
        }

        return $this->notice('warning', $this->gettext('mustchange'));
    }

    /**
     * On the mail screens: the expiry date, from expire_warning_days before it.
     * Past the date (before the daily job marks the password) it says so; once
     * marked, the must-change page takes over.
     */
    private function expiry_notice(array $state): ?array
    {
        $max_age = (int) $this->rc->config->get('soctrang_password_max_age_days', 0);
        $warning = (int) $this->rc->config->get('soctrang_password_warning_days', 0);
        if (!$state['known'] || $state['must_change'] || $state['changed'] === null || $max_age <= 0 || $warning <= 0) {
            return null;
        }

        $now = time();
        $expires = $state['changed'] + $max_age * 86400;
        if ($now < $expires - $warning * 86400) {
            return null;
        }

        // dd/mm/yyyy in the user's time zone (Vietnamese usage, as in every other text).
        $date = $this->rc->format_date(new DateTimeImmutable("@$expires"), 'd/m/Y');
        $link = ['href' => $this->rc->url(['_task' => self::PASSWORD_TASK, '_action' => self::PASSWORD_ACTIONS[0]]),
                 'text' => $this->gettext('changenow')];
        if ($now < $expires) {
            $days = (int) ceil(($expires - $now) / 86400);
            return $this->notice('warning', $this->gettext(['name' => 'expirywarning', 'vars' => ['date' => $date, 'days' => $days]]), $link);
        }

        return $this->notice('error', $this->gettext(['name' => 'expired', 'vars' => ['date' => $date]]), $link);
    }

    /** Whom to tell (soctrang_support_address, soctrang_support_phone), in words. */
    private function support(): string
    {
        $address = trim((string) $this->rc->config->get('soctrang_support_address', ''));
        $phone = trim((string) $this->rc->config->get('soctrang_support_phone', ''));
        if ($address !== '' && $phone !== '') {
            return $this->gettext(['name' => 'supportboth', 'vars' => ['address' => $address, 'phone' => $phone]]);
        }

        return ($address . $phone) !== '' ? $address . $phone : $this->gettext('supportteam');
    }

    /** What soctrang.js renders: plain text and a link, never HTML. */
    private function notice(string $type, string $text, ?array $link = null): array
    {
        return ['type' => $type, 'text' => $text, 'link' => $link];
    }

    // ------------------------------------------------------------------ c. login refusals

    /**
     * Replaces Roundcube's "login failed" with Dovecot's reason when Dovecot gave
     * one. index.php has queued its own message already; on the full login page
     * only the last queued message is shown (app.js keeps one pending message
     * until the page has loaded), so this one replaces it.
     */
    public function login_failed(array $args): array
    {
        $message = $this->login_refusal((int) ($args['code'] ?? 0));
        if ($message !== null) {
            [$text, $type] = $message;
            $this->rc->output->show_message($text, $type);
        }

        return $args;
    }

    /** [message (label or escaped text), type] for a failed login, or null to keep Roundcube's. */
    private function login_refusal(int $code): ?array
    {
        $generic = ['soctrang.loginfailed', 'warning'];

        // Roundcube's own rate limit counts only addresses it has seen log in: its
        // "too many attempts" would tell them apart from unknown ones.
        if ($code === rcmail::ERROR_RATE_LIMIT) {
            return $generic;
        }
        // Failures before any IMAP exchange (cookies, request token, host) keep theirs.
        if ($code !== 0 && $code !== rcmail::ERROR_STORAGE) {
            return null;
        }
        $conn = $this->rc->storage instanceof rcube_imap ? $this->rc->storage->conn : null;
        if (!$conn instanceof rcube_imap_generic) {
            return null;
        }

        $response_code = strtoupper((string) $conn->resultcode);
        // rcube_imap_generic keeps the text after the [CODE], prefixed by the command
        // ("AUTHENTICATE PLAIN: ", "LOGIN: ").
        $text = self::normalise(preg_replace('/^(?:LOGIN|AUTHENTICATE(?: [A-Z0-9-]+)?): /', '', (string) $conn->error));

        foreach ((array) $this->rc->config->get('soctrang_login_reason_texts', []) as $known) {
            if (is_string($known) && $text !== '' && self::normalise($known) === $text) {
                return [rcube::Q($text), 'error'];
            }
        }
        $codes = array_map('strtoupper', (array) $this->rc->config->get('soctrang_login_reason_codes', ['CONTACTADMIN', 'AUTHORIZATIONFAILED']));
        if ($text !== '' && in_array($response_code, $codes, true)) {
            return [rcube::Q($text), 'error'];
        }
        if ($response_code === 'UNAVAILABLE') {
            return ['soctrang.loginunavailable', 'error'];
        }
        // A plain NO (Dovecot: [AUTHENTICATIONFAILED] for a wrong password and for an
        // unknown address alike) gets the one generic message.
        if ($code === 0 && $conn->errornum === rcube_imap_generic::ERROR_NO) {
            return $generic;
        }

        return null;
    }

    private static function normalise(string $text): string
    {
        return trim(preg_replace('/\s+/u', ' ', $text) ?? $text);
    }

    // ------------------------------------------------------------------ texts

    /**
     * The few password plugin texts the soctrang_ppolicy driver depends on
     * (localization/password/<lang>.inc, where it exists): the sentence its
     * reasons follow, and a key password.php asks for but no localization has.
     * The page's other Vietnamese is the role's (files/localization/plugins/password).
     * Merged over (array_merge), so the order of the plugins does not matter: the
     * password plugin adds its own with "+=", which keeps ours.
     */
    private function replace_password_plugin_texts(): void
    {
        $dir = realpath($this->home . '/localization/password');
        if ($dir === false) {
            return;
        }
        $merge = [];
        foreach ($this->rc->read_localization($dir) as $key => $text) {
            $merge["password.$key"] = $text;
        }
        if ($merge) {
            $this->rc->load_language(null, [], $merge);
        }
    }
}
