<?php

/**
 * soctrang_directory - the webmail's one way into the province's directory.
 *
 * Used by the `soctrang` plugin (is the user's password to be changed, when was it
 * last changed, which unit mailboxes are delegated to them) and by the password driver `soctrang_ppolicy` (whose entry to bind
 * as). Both must reach slapd the same way, with the same CA and the same idea of
 * which entry a Roundcube login names, so that logic lives here once.
 *
 * Settings (Roundcube configuration, docs: config.inc.php.dist):
 *   soctrang_ldap_uri                 ldaps:// URI(s), space separated
 *   soctrang_ldap_ca_file             CA certificate that signed slapd's certificate
 *   soctrang_ldap_bind_dn             read-only service account (cn=webmail,ou=services,...)
 *   soctrang_ldap_bind_password       its password, or
 *   soctrang_ldap_bind_password_file  a file holding it (preferred: keeps it out of PHP config)
 *   soctrang_ldap_base                where mailboxes are searched (the suffix)
 *   soctrang_ldap_user_filter         filter naming the login's entry; %u %l %d
 *   soctrang_ldap_user_dn_template    a DN instead of a search; %u %l %d
 *   soctrang_ldap_timeout             seconds for connect and for each operation
 *   soctrang_ldap_debug               log every operation (never a password) to logs/soctrang
 */
final class soctrang_directory
{
    /**
     * The ppolicy response control's error values (draft-behera-ldap-password-policy,
     * OpenLDAP include/ldap.h PP_*). Protocol constants, not policy: which reason a
     * user is shown for each is decided by the reasons file of the password driver.
     */
    public const PPOLICY_ERRORS = [
        0 => 'passwordExpired',
        1 => 'accountLocked',
        2 => 'changeAfterReset',
        3 => 'passwordModNotAllowed',
        4 => 'mustSupplyOldPassword',
        5 => 'insufficientPasswordQuality',
        6 => 'passwordTooShort',
        7 => 'passwordTooYoung',
        8 => 'passwordInHistory',
        9 => 'passwordTooLong',
    ];

    /** What slapd's access rules let the webmail account read about the password. */
    private const STATE_ATTRIBUTES = ['pwdReset', 'pwdChangedTime'];

    private function __construct(
        private readonly string $uri,
        private readonly string $ca_file,
        private readonly string $bind_dn,
        private readonly string $bind_password,
        private readonly string $base,
        private readonly string $user_filter,
        private readonly string $user_dn_template,
        private readonly int $timeout,
        private readonly bool $debug,
    ) {
    }

    public static function from_config(rcube_config $config): self
    {
        $password = (string) $config->get('soctrang_ldap_bind_password', '');
        $password_file = (string) $config->get('soctrang_ldap_bind_password_file', '');
        if ($password_file !== '') {
            $read = @file_get_contents($password_file);
            if ($read === false) {
                self::error("cannot read soctrang_ldap_bind_password_file $password_file");
            }
            $password = rtrim((string) $read, "\r\n");
        }

        return new self(
            uri: trim((string) $config->get('soctrang_ldap_uri', '')),
            ca_file: (string) $config->get('soctrang_ldap_ca_file', ''),
            bind_dn: (string) $config->get('soctrang_ldap_bind_dn', ''),
            bind_password: $password,
            base: (string) $config->get('soctrang_ldap_base', ''),
            // The same entry Dovecot logs the user in as (roles/dovecot: mail or uid).
            user_filter: (string) $config->get('soctrang_ldap_user_filter', '(&(objectClass=socMailbox)(|(mail=%u)(uid=%u)))'),
            user_dn_template: (string) $config->get('soctrang_ldap_user_dn_template', ''),
            timeout: max(1, (int) $config->get('soctrang_ldap_timeout', 10)),
            debug: (bool) $config->get('soctrang_ldap_debug', false),
        );
    }

    /**
     * A new connection to slapd, not yet bound; null (and an error in the log) when
     * it cannot be made. TLS is verified against soctrang_ldap_ca_file.
     */
    public function connect(): ?LDAP\Connection
    {
        if ($this->uri === '') {
            self::error('soctrang_ldap_uri is not set');
            return null;
        }
        $uris = preg_split('/\s+/', $this->uri);
        if (count(preg_grep('~^ldaps://~i', $uris)) !== count($uris)) {
            // Passwords cross this connection: refuse anything but TLS from the start.
            self::error('soctrang_ldap_uri must use ldaps://');
            return null;
        }

        // libldap takes CA settings from its global options when it opens a TLS
        // session: PHP has no LDAP_OPT_X_TLS_NEWCTX, so options set on the handle are
        // ignored (tried on Debian 13: a handle-only CA file fails the handshake).
        // Setting them globally right before each connect is honoured per connection.
        if ($this->ca_file !== '') {
            ldap_set_option(null, LDAP_OPT_X_TLS_CACERTFILE, $this->ca_file);
        }
        ldap_set_option(null, LDAP_OPT_X_TLS_REQUIRE_CERT, LDAP_OPT_X_TLS_DEMAND);

        $conn = @ldap_connect($this->uri);
        if (!$conn) {
            self::error("cannot use soctrang_ldap_uri {$this->uri}");
            return null;
        }
        ldap_set_option($conn, LDAP_OPT_PROTOCOL_VERSION, 3);
        ldap_set_option($conn, LDAP_OPT_REFERRALS, false);
        ldap_set_option($conn, LDAP_OPT_NETWORK_TIMEOUT, $this->timeout);
        ldap_set_option($conn, LDAP_OPT_TIMEOUT, $this->timeout);
        $this->log("connect {$this->uri}");

        return $conn;
    }

    /** Binds as the read-only service account. */
    public function bind_service(LDAP\Connection $conn): bool
    {
        if ($this->bind_dn === '') {
            self::error('soctrang_ldap_bind_dn is not set');
            return false;
        }
        if (!@ldap_bind($conn, $this->bind_dn, $this->bind_password)) {
            // -1: no LDAP answer at all; with ldaps that is often the certificate check.
            $hint = ldap_errno($conn) === -1
                ? " (is slapd reachable at {$this->uri}, and its certificate signed by soctrang_ldap_ca_file {$this->ca_file}?)"
                : '';
            self::error("service bind as {$this->bind_dn} failed: " . ldap_error($conn) . $hint);
            return false;
        }
        $this->log("bound as {$this->bind_dn}");

        return true;
    }

    /** Whether the user's DN comes from the template (no search, no service account needed). */
    public function has_dn_template(): bool
    {
        return $this->user_dn_template !== '';
    }

    /** The user's DN from soctrang_ldap_user_dn_template. */
    public function dn_from_template(string $username): string
    {
        return self::substitute($this->user_dn_template, $username, LDAP_ESCAPE_DN);
    }

    /**
     * The user's entry, read with the connection's current identity (the service
     * account): ['dn' => string, <attribute, lower case> => [values]], or null when
     * the login names no entry, several entries, or the directory cannot answer.
     *
     * @param string[] $attributes
     */
    public function find_user(LDAP\Connection $conn, string $username, array $attributes): ?array
    {
        $attributes = $attributes ?: ['1.1'];
        if ($this->has_dn_template()) {
            $dn = $this->dn_from_template($username);
            $result = @ldap_read($conn, $dn, '(objectClass=*)', $attributes, 0, 1);
            $where = "entry $dn";
        } else {
            if ($this->base === '') {
                self::error('soctrang_ldap_base is not set');
                return null;
            }
            $filter = self::substitute($this->user_filter, $username, LDAP_ESCAPE_FILTER);
            // Size limit 2: one entry is the answer, two mean the filter is ambiguous.
            $result = @ldap_search($conn, $this->base, $filter, $attributes, 0, 2, $this->timeout);
            $where = "search $filter under {$this->base}";
        }

        if ($result === false) {
            // noSuchObject (32) for a template DN means "no such user", not a fault.
            if (ldap_errno($conn) !== 32) {
                self::error("$where failed: " . ldap_error($conn));
            }
            $this->log("$where: " . ldap_error($conn));
            return null;
        }
        // An ambiguous filter comes back as two entries (and sizeLimitExceeded).
        $entries = ldap_get_entries($conn, $result);
        $count = $entries === false ? 0 : (int) $entries['count'];
        if ($count !== 1) {
            $this->log("$where: $count entries, expected exactly one");
            return null;
        }

        $entry = ['dn' => $entries[0]['dn']];
        foreach ($entries[0] as $name => $values) {
            if (is_string($name) && is_array($values)) {
                unset($values['count']);
                $entry[$name] = array_values($values);
            }
        }
        $this->log("$where: found {$entry['dn']}");

        return $entry;
    }

    /**
     * The password state of a login, read with the service account:
     * ['dn' => string, 'must_change' => bool, 'changed' => ?int (Unix time)],
     * or null when it cannot be read.
     *
     * must_change is pwdReset=TRUE: a new or reset password (ppolicy), or one the
     * directory's daily job marked because it passed its maximum age (roles/slapd).
     */
    public function password_state(string $username): ?array
    {
        return $this->with_service(fn (LDAP\Connection $conn) => $this->read_password_state($conn, $username));
    }

    /**
     * At a login, in one connection: the password state (as password_state), the
     * user's name ('cn') and the unit mailboxes delegated to them (Điều 12), as 'delegated' => list of
     * ['mail' => string, 'name' => string, 'send_as' => bool], sorted by address, or
     * null when that search failed; null as a whole when the directory cannot
     * answer. send_as is the unit's
     * socMailSendAsManagers, the same attribute the MTA's sender rules read.
     */
    public function login_facts(string $username): ?array
    {
        return $this->with_service(function (LDAP\Connection $conn) use ($username): ?array {
            $state = $this->read_password_state($conn, $username, ['cn']);
            if ($state === null) {
                return null;
            }
            return $state + ['delegated' => $this->read_delegated($conn, $state['dn'])];
        });
    }

    /** Runs $read on a connection bound as the service account; null when it cannot be made. */
    private function with_service(callable $read): ?array
    {
        $conn = $this->connect();
        if ($conn === null) {
            return null;
        }
        try {
            return $this->bind_service($conn) ? $read($conn) : null;
        } finally {
            @ldap_unbind($conn);
        }
    }

    /** With $also (attribute names), their first values under their lower-case names. */
    private function read_password_state(LDAP\Connection $conn, string $username, array $also = []): ?array
    {
        $entry = $this->find_user($conn, $username, [...self::STATE_ATTRIBUTES, ...$also]);
        if ($entry === null) {
            return null;
        }
        $state = [
            'dn' => $entry['dn'],
            'must_change' => strcasecmp($entry['pwdreset'][0] ?? '', 'TRUE') === 0,
            'changed' => self::parse_generalized_time($entry['pwdchangedtime'][0] ?? ''),
        ];
        foreach ($also as $attribute) {
            $state[strtolower($attribute)] = (string) ($entry[strtolower($attribute)][0] ?? '');
        }

        return $state;
    }

    /** The active mailboxes that name $dn as a manager (socMailManager, indexed). */
    private function read_delegated(LDAP\Connection $conn, string $dn): ?array
    {
        $filter = '(&(objectClass=socMailbox)(socMailboxState=active)(socMailManager='
            . ldap_escape($dn, '', LDAP_ESCAPE_FILTER) . '))';
        $result = @ldap_search($conn, $this->base, $filter, ['mail', 'cn', 'socMailSendAsManagers'], 0, 0, $this->timeout);
        if ($result === false) {
            self::error("search $filter failed: " . ldap_error($conn));
            return null;
        }
        $entries = ldap_get_entries($conn, $result) ?: ['count' => 0];
        $delegated = [];
        for ($i = 0; $i < (int) $entries['count']; $i++) {
            $mail = strtolower((string) ($entries[$i]['mail'][0] ?? ''));
            if ($mail === '') {
                continue;
            }
            $delegated[] = [
                'mail' => $mail,
                'name' => (string) ($entries[$i]['cn'][0] ?? $mail),
                'send_as' => strcasecmp((string) ($entries[$i]['socmailsendasmanagers'][0] ?? ''), 'TRUE') === 0,
            ];
        }
        usort($delegated, fn (array $a, array $b): int => strcmp($a['mail'], $b['mail']));
        $this->log("$filter: " . count($delegated) . ' delegated mailboxes');

        return $delegated;
    }

    /** slapd's GeneralizedTime (20260102030405Z, maybe with a fraction) as Unix time. */
    public static function parse_generalized_time(string $value): ?int
    {
        if (!preg_match('/^(\d{14})(?:[.,]\d+)?Z$/', $value, $m)) {
            return null;
        }
        $time = DateTimeImmutable::createFromFormat('!YmdHis', $m[1], new DateTimeZone('UTC'));

        return $time ? $time->getTimestamp() : null;
    }

    /**
     * Fills %u (the login as Roundcube has it), %l (its local part) and %d (its
     * domain) into a filter or DN, each escaped for where it goes.
     */
    public static function substitute(string $template, string $username, int $escape): string
    {
        [$local, $domain] = str_contains($username, '@')
            ? explode('@', $username, 2)
            : [$username, ''];

        return strtr($template, [
            '%u' => ldap_escape($username, '', $escape),
            '%l' => ldap_escape($local, '', $escape),
            '%d' => ldap_escape($domain, '', $escape),
        ]);
    }

    /** Debug trace (soctrang_ldap_debug): operations and DNs, never a password. */
    public function log(string $message): void
    {
        if ($this->debug) {
            rcube::write_log('soctrang', $message);
        }
    }

    /** A fault the operators must see (Roundcube's error log), whatever the debug setting. */
    public static function error(string $message): void
    {
        rcube::raise_error(['code' => 600, 'type' => 'ldap', 'message' => "soctrang: $message"], true, false);
    }
}
