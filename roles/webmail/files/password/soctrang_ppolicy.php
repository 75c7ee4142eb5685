<?php

/**
 * soctrang_ppolicy - Roundcube password driver for the Sóc Trăng directory
 * (OpenLDAP 2.6 with the ppolicy overlay and the ppm quality module, Điều 8).
 *
 * Why not the stock drivers: `ldap_exop` turns every refusal into one "constraint
 * violation" and never shows the server's reason; `ldap_simple` writes a hash,
 * which ppm cannot check (the policy's pwdCheckQuality 2 refuses it); a service
 * account with `manage` rights would skip ppm, history and minimum age and set
 * pwdReset again. So this driver changes the password exactly as slapd expects a
 * user to: bound as the user, RFC 3062 password-modify extended operation with the
 * OLD and the NEW password in clear (ppm checks the new one, ppolicy its history),
 * with the password policy request control (1.3.6.1.4.1.42.2.27.8.5.1), over
 * ldaps verified against the configured CA. On a refusal it reads both the
 * ppolicy response control's error and slapd's diagnostic text (ppm writes its
 * reason there) and tells the user why, in Vietnamese, through one mapping table
 * that is data: the reasons file below.
 *
 * Installed as plugins/password/drivers/soctrang_ppolicy.php. It needs the
 * soctrang plugin's directory helper (plugins/soctrang/soctrang_directory.php:
 * how to reach slapd, with which CA, and which entry a login names), the same
 * one the plugin reads the password state with.
 *
 * Configuration (main Roundcube config or the soctrang plugin's; see
 * plugins/soctrang/config.inc.php.dist):
 *   $config['password_driver'] = 'soctrang_ppolicy';
 *   soctrang_ldap_uri, soctrang_ldap_ca_file, soctrang_ldap_base,
 *   soctrang_ldap_bind_dn + soctrang_ldap_bind_password(_file)  - finds the user's DN, or
 *   soctrang_ldap_user_dn_template                              - the DN without a search
 *   soctrang_ldap_user_filter, soctrang_ldap_timeout, soctrang_ldap_debug
 *   $config['soctrang_password_reasons_file'] = '/etc/roundcube/soctrang-password-reasons.json';
 *
 * THE REASONS FILE (JSON; example: reasons.example.json beside this driver in the
 * repository, roles/webmail/files/password/). Unknown top-level keys are ignored.
 *
 *   "reasons": { key: text }   Texts shown to the user, one per reason key. The
 *       password plugin shows them after its own "could not save" sentence. The
 *       driver knows these keys:
 *         generic            REQUIRED. Anything no pattern explains.
 *         too_short          shorter than pwdMinLength (ppolicy passwordTooShort)
 *         missing_upper, missing_lower, missing_digit, missing_special
 *                            a character class ppm requires is absent
 *         missing_classes    ppm's "does not pass required number of strength
 *                            checks": the driver then names the missing classes
 *                            itself from "classes" (below); this text is used
 *                            when that finds none
 *         personal_info      a token of the user's name, uid or address (ppm
 *                            checkAttributes / checkRDN)
 *         in_history         the current password or one of the pwdInHistory last
 *         too_young          pwdMinAge not yet passed
 *         old_password_wrong the current password does not bind
 *         account_locked     ppolicy lockout (optional)
 *         forbidden_chars    ppm forbiddenChars (optional)
 *       Any other key may be used by a pattern. A pattern or class naming a key
 *       that has no text is dropped when the file is read (logged).
 *
 *   "patterns": [ {conditions..., "reason": key}, ... ]   Tried in order; the
 *       first whose every given condition holds decides. Conditions (at least one):
 *         "stage":   "bind" (binding as the user with the current password) or
 *                    "change" (the password-modify operation)
 *         "result":  LDAP result code (49 invalidCredentials at bind, 19
 *                    constraintViolation...); at "change" it is read from PHP's
 *                    warning text and may be unknown, so prefer "ppolicy"/"match"
 *         "ppolicy": the response control's error name: passwordExpired,
 *                    accountLocked, changeAfterReset, passwordModNotAllowed,
 *                    mustSupplyOldPassword, insufficientPasswordQuality,
 *                    passwordTooShort, passwordTooYoung, passwordInHistory,
 *                    passwordTooLong
 *         "match":   a PCRE regular expression (no delimiters; case-insensitive;
 *                    a "~" in it is taken literally) searched in slapd's
 *                    diagnostic text, e.g. ppm's
 *                    Password for dn="uid=bnmai,ou=people,..." is too simple: it contains part of an attribute
 *       The texts slapd 2.6.10 and its ppm send (contrib/slapd-modules/ppm/ppm.h,
 *       servers/slapd/overlays/ppolicy.c), which the example's patterns match:
 *         ppm  ... does not pass required number of strength checks (%d of %d)
 *         ppm  ... has not reached the minimum number of characters (%d) for class class-<name>
 *         ppm  ... has reached the maximum number of characters (%d) for class class-<name>
 *         ppm  ... contains %d forbidden characters in %s
 *         ppm  ... contains tokens from the RDN
 *         ppm  ... is too simple: it contains part of an attribute
 *         ppm  Error while checking password         (ppm misconfigured)
 *         ppolicy  Password fails quality checking policy   (too short: no text of its own)
 *         ppolicy  Password is in history of old passwords
 *         ppolicy  Password is not being changed from existing value
 *         ppolicy  Password is too young to change
 *         ppolicy  Must supply correct old password to change to new one
 *       With the province's ppm settings (every class required with minForPoint 1,
 *       minQuality 4) a missing class always gives the "strength checks" text,
 *       which names no class: hence "classes".
 *
 *   "classes": [ {"reason": key, "characters": "ABC..."}, ... ]   Optional. The
 *       character classes ppm requires, with the same characters as its
 *       class-<name> lines (roles/slapd slapd_ppm_classes): for "missing_classes"
 *       the driver lists, in this order, every class of which the new password
 *       has no character (byte-wise, as ppm counts: "Đ" is in no ASCII class).
 *
 * If the file is missing or unusable the change still works and is still
 * checked by slapd; the user then gets the password plugin's own messages, and
 * the operators an error in Roundcube's log.
 *
 * Nothing here writes a password to any log.
 */

final class rcube_soctrang_ppolicy_password
{
    /**
     * @param string $curpass  the current password (typed again, or the session's)
     * @param string $passwd   the new password
     * @param string $username the login (password::username(), as Roundcube has it)
     *
     * @return int|array PASSWORD_SUCCESS, a PASSWORD_* code, or
     *                   ['code' => PASSWORD_ERROR, 'message' => why, in the user's words]
     */
    public function save($curpass, $passwd, $username)
    {
        $rcmail = rcmail::get_instance();

        if (!function_exists('ldap_exop_passwd') || !self::load_directory_helper()) {
            rcube::raise_error(['code' => 600, 'type' => 'php', 'message' =>
                'soctrang_ppolicy: needs php-ldap and the soctrang plugin (plugins/soctrang/soctrang_directory.php)'], true, false);
            return PASSWORD_ERROR;
        }
        if ((string) $passwd === '') {
            // An empty new password would ask slapd to generate one.
            return PASSWORD_ERROR;
        }

        $directory = soctrang_directory::from_config($rcmail->config);
        $reasons = soctrang_password_reasons::load((string) $rcmail->config->get('soctrang_password_reasons_file', ''));

        $conn = $directory->connect();
        if ($conn === null) {
            return PASSWORD_CONNECT_ERROR;
        }

        try {
            $dn = $this->user_dn($directory, $conn, (string) $username);
            if ($dn === null) {
                return PASSWORD_CONNECT_ERROR;
            }

            $refusal = $this->bind_as_user($conn, $dn, (string) $curpass)
                ?? $this->modify_password($conn, $dn, (string) $curpass, (string) $passwd);

            if ($refusal === null) {
                $directory->log("password of $dn changed");
                return PASSWORD_SUCCESS;
            }

            $directory->log(sprintf('password change of %s refused at %s: result %s, ppolicy %s, "%s"',
                $dn, $refusal['stage'], $refusal['result'] ?? '?', $refusal['ppolicy'] ?? '-', $refusal['diagnostic']));

            if ($refusal['unreachable']) {
                soctrang_directory::error("lost the directory while changing the password of $dn");
                return PASSWORD_CONNECT_ERROR;
            }
            if ($reasons === null) {
                return self::stock_code($refusal);
            }

            return ['code' => PASSWORD_ERROR, 'message' => $reasons->message_for($refusal, (string) $passwd)];
        } finally {
            @ldap_unbind($conn);
        }
    }

    /**
     * The entry to bind as: from the DN template, or searched with the read-only
     * service account (the connection is bound again as the user right after).
     */
    private function user_dn(soctrang_directory $directory, LDAP\Connection $conn, string $username): ?string
    {
        if ($directory->has_dn_template()) {
            return $directory->dn_from_template($username);
        }
        if (!$directory->bind_service($conn)) {
            return null;
        }
        $entry = $directory->find_user($conn, $username, []);
        if ($entry === null) {
            soctrang_directory::error("no single directory entry for login $username");
            return null;
        }

        return $entry['dn'];
    }

    /**
     * Binds as the user with the current password, asking for the policy control
     * (so a lockout reads as a lockout, not as a wrong password). A bind of a
     * must-change account succeeds (changeAfterReset): ppolicy then allows that
     * connection only the password change, which is all it is used for.
     */
    private function bind_as_user(LDAP\Connection $conn, string $dn, string $curpass): ?array
    {
        $result = @ldap_bind_ext($conn, $dn, $curpass, [['oid' => LDAP_CONTROL_PASSWORDPOLICYREQUEST]]);
        if ($result === false) {
            return self::refusal('bind', ldap_errno($conn), null, '', true);
        }
        if (!ldap_parse_result($conn, $result, $code, $matched, $message, $referrals, $controls)) {
            return self::refusal('bind', null, null, '', true);
        }
        if ($code === 0) {
            return null;
        }

        return self::refusal('bind', $code, self::ppolicy_error($controls), (string) $message, false);
    }

    /**
     * RFC 3062 password modify with the old and the new password. Passing the
     * controls argument makes PHP send the ppolicy request control and return
     * the response control (ext/ldap: ldap_exop_passwd).
     */
    private function modify_password(LDAP\Connection $conn, string $dn, string $curpass, string $passwd): ?array
    {
        $controls = [];
        error_clear_last();
        $done = @ldap_exop_passwd($conn, $dn, $curpass, $passwd, $controls);
        if ($done === true) {
            return null;
        }

        // PHP keeps the result code only in its warning ("... failed: <text> (19)");
        // ldap_errno() reads 0 after the operation was parsed.
        $code = null;
        $warning = error_get_last()['message'] ?? '';
        if (preg_match('/\((-?\d+)\)$/', $warning, $m)) {
            $code = (int) $m[1];
        }
        $diagnostic = '';
        if (ldap_get_option($conn, LDAP_OPT_DIAGNOSTIC_MESSAGE, $text) && is_string($text)) {
            $diagnostic = $text;
        }
        $ppolicy = self::ppolicy_error($controls);
        // A negative code is libldap's own (server down, timeout): nothing was decided.
        $unreachable = $code !== null && $code < 0 && $ppolicy === null && $diagnostic === '';

        return self::refusal('change', $code, $ppolicy, $diagnostic, $unreachable);
    }

    /** The ppolicy response control's error name, or null when there is none. */
    private static function ppolicy_error(?array $controls): ?string
    {
        $error = $controls[LDAP_CONTROL_PASSWORDPOLICYRESPONSE]['value']['error'] ?? null;

        return $error === null ? null : (soctrang_directory::PPOLICY_ERRORS[(int) $error] ?? null);
    }

    private static function refusal(string $stage, ?int $result, ?string $ppolicy, string $diagnostic, bool $unreachable): array
    {
        return compact('stage', 'result', 'ppolicy', 'diagnostic', 'unreachable');
    }

    /** Without a reasons file: the nearest of the password plugin's own messages. */
    private static function stock_code(array $refusal): int
    {
        return match (true) {
            $refusal['ppolicy'] === 'passwordInHistory' => PASSWORD_IN_HISTORY,
            $refusal['stage'] === 'bind' => PASSWORD_ERROR,
            default => PASSWORD_CONSTRAINT_VIOLATION,
        };
    }

    /** The directory helper ships with the soctrang plugin; load it if that plugin has not. */
    private static function load_directory_helper(): bool
    {
        if (!class_exists('soctrang_directory', false)) {
            $file = RCUBE_PLUGINS_DIR . 'soctrang/soctrang_directory.php';
            if (!is_readable($file)) {
                return false;
            }
            require_once $file;
        }

        return true;
    }
}

/**
 * The reasons file, read and checked once per request (format: the header above).
 */
final class soctrang_password_reasons
{
    private const STAGES = ['bind', 'change'];

    /** @var array<string, ?self> */
    private static array $loaded = [];

    /**
     * @param array<string, string> $texts
     * @param list<array>           $patterns
     * @param list<array>           $classes
     */
    private function __construct(
        private readonly array $texts,
        private readonly array $patterns,
        private readonly array $classes,
    ) {
    }

    /** The table in $path, or null (and an error in the log) when it cannot be used. */
    public static function load(string $path): ?self
    {
        if (!array_key_exists($path, self::$loaded)) {
            self::$loaded[$path] = self::read($path);
        }

        return self::$loaded[$path];
    }

    private static function read(string $path): ?self
    {
        if ($path === '') {
            self::problem('', 'soctrang_password_reasons_file is not set');
            return null;
        }
        $json = @file_get_contents($path);
        if ($json === false) {
            self::problem($path, 'cannot be read');
            return null;
        }
        try {
            $data = json_decode($json, true, 16, JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            self::problem($path, 'is not JSON: ' . $e->getMessage());
            return null;
        }

        $texts = is_array($data) ? ($data['reasons'] ?? null) : null;
        if (!is_array($texts) || !is_string($texts['generic'] ?? null) || trim($texts['generic']) === '') {
            self::problem($path, 'needs "reasons" with a "generic" text');
            return null;
        }
        $texts = array_filter($texts, fn ($text, $key) => is_string($key) && is_string($text) && trim($text) !== '', ARRAY_FILTER_USE_BOTH);

        $patterns = [];
        foreach ((array) ($data['patterns'] ?? []) as $i => $pattern) {
            $checked = self::check_pattern($pattern, $texts);
            if (is_string($checked)) {
                self::problem($path, "patterns[$i] $checked; ignored");
            } else {
                $patterns[] = $checked;
            }
        }

        $classes = [];
        foreach ((array) ($data['classes'] ?? []) as $i => $class) {
            $reason = is_array($class) ? ($class['reason'] ?? null) : null;
            if (!is_string($reason) || !isset($texts[$reason])
                || !is_string($class['characters'] ?? null) || $class['characters'] === '') {
                self::problem($path, "classes[$i] needs a known \"reason\" and \"characters\"; ignored");
            } else {
                $classes[] = ['reason' => $class['reason'], 'characters' => $class['characters']];
            }
        }

        return new self($texts, $patterns, $classes);
    }

    /** The checked pattern, or what is wrong with it. */
    private static function check_pattern(mixed $pattern, array $texts): array|string
    {
        if (!is_array($pattern)) {
            return 'is not an object';
        }
        $reason = $pattern['reason'] ?? null;
        if (!is_string($reason) || !isset($texts[$reason])) {
            return 'names no reason with a text';
        }
        $checked = ['reason' => $pattern['reason']];
        if (array_key_exists('stage', $pattern)) {
            if (!in_array($pattern['stage'], self::STAGES, true)) {
                return 'has a "stage" other than bind or change';
            }
            $checked['stage'] = $pattern['stage'];
        }
        if (array_key_exists('result', $pattern)) {
            if (!is_int($pattern['result'])) {
                return 'has a "result" that is not a number';
            }
            $checked['result'] = $pattern['result'];
        }
        if (array_key_exists('ppolicy', $pattern)) {
            if (!in_array($pattern['ppolicy'], soctrang_directory::PPOLICY_ERRORS, true)) {
                return 'names an unknown "ppolicy" error';
            }
            $checked['ppolicy'] = $pattern['ppolicy'];
        }
        if (array_key_exists('match', $pattern)) {
            $regex = is_string($pattern['match']) ? '~' . addcslashes($pattern['match'], '~') . '~iu' : null;
            if ($regex === null || @preg_match($regex, '') === false) {
                return 'has a "match" that is not a valid regular expression';
            }
            $checked['match'] = $regex;
        }
        if (count($checked) === 1) {
            return 'has no condition';
        }

        return $checked;
    }

    /** What the user reads for a refusal. */
    public function message_for(array $refusal, string $new_password): string
    {
        $keys = $this->reasons_for($refusal, $new_password);

        return implode(' ', array_map(fn (string $key) => $this->texts[$key], $keys));
    }

    /**
     * The reason keys of a refusal: the first matching pattern's, with
     * missing_classes replaced by the classes the new password lacks.
     *
     * @return list<string>
     */
    public function reasons_for(array $refusal, string $new_password): array
    {
        $key = 'generic';
        foreach ($this->patterns as $pattern) {
            if (self::matches($pattern, $refusal)) {
                $key = $pattern['reason'];
                break;
            }
        }

        if ($key === 'missing_classes') {
            // strpbrk counts bytes, as ppm does (strchr over the class characters).
            $missing = array_values(array_filter($this->classes,
                fn (array $class) => strpbrk($new_password, $class['characters']) === false));
            if ($missing) {
                return array_values(array_unique(array_column($missing, 'reason')));
            }
        }

        return [$key];
    }

    private static function matches(array $pattern, array $refusal): bool
    {
        return (!isset($pattern['stage']) || $pattern['stage'] === $refusal['stage'])
            && (!isset($pattern['result']) || $pattern['result'] === $refusal['result'])
            && (!isset($pattern['ppolicy']) || $pattern['ppolicy'] === $refusal['ppolicy'])
            && (!isset($pattern['match']) || preg_match($pattern['match'], $refusal['diagnostic']) === 1);
    }

    private static function problem(string $path, string $what): void
    {
        rcube::raise_error(['code' => 600, 'type' => 'php', 'message' =>
            "soctrang_ppolicy: reasons file $path $what"], true, false);
    }
}
