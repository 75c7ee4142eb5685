package Soctrang::SSO::Portal;

# The province's portal plugin for LemonLDAP::NG 2.21 (roles/sso, customPlugins).
# Three entry points (Main/Init.pm loadPlugin: hook, aroundSub):
#
# showReason (hook sendHtml; Main/Run.pm sendHtml runs it after setting
# TROVER): the portal's error box is <span trmsg="<AUTH_ERROR>">, translated in
# the browser from languages/<lang>.json overlaid with TROVER's "all" and
# "<lang>" (static/common/js/portal.js translatePage, inserted with .html()).
# A reason recorded for this request ($req->data->{soctrang_reason}, by
# Soctrang::SSO::Password or explainRefusal below) becomes the message
# PEsoctrang, HTML-escaped, and AUTH_ERROR points at it. $req->error keeps its
# PE code: Main/Display.pm decides on it whether to show the password form.
#
# explainRefusal (around getUser): our filter finds active mailboxes only, so a
# disabled or retired one reads as "unknown or wrong password" (PE5). One more
# search by the service account tells it apart, and the person gets the same
# text as at the webmail and Dovecot (refusals.json, disabled/retired). An
# unknown address and a wrong password stay the one PE5. A temporary lock needs
# nothing here: slapd's ppolicy control gives PE21, whose text says how long.
#
# countCredentialFailuresOnly (around storeHistory): brute-force protection
# counts what slapd counts: wrong passwords. LemonLDAP::NG stores every sign-in
# whose result is not PE_OK as a failed login (Main/Process.pm authenticate ->
# storeHistory -> registerLogin), including a correct password that must be
# changed (PE25), each new password slapd refuses (PE28-31), a mistyped
# confirmation (PE34) and even the successful change (PE35); five of those
# would lock a person out right after a good change, although slapd counted
# nothing. Those results are kept out of the history.
#
# customPluginsParams: soctrangRefusals (refusals.json: {"disabled": text,
# "retired": text}); soctrangPasswordReasons is Soctrang::SSO::Password's.

use strict;
use warnings;

use Mouse;
use Encode ();
use JSON::PP ();
use Net::LDAP::Util qw(escape_filter_value);
use Lemonldap::NG::Portal::Main::Constants qw(
  PE_OK
  PE_BADCREDENTIALS
  PE_PP_CHANGE_AFTER_RESET
  PE_PP_MUST_SUPPLY_OLD_PASSWORD
  PE_PP_INSUFFICIENT_PASSWORD_QUALITY
  PE_PP_PASSWORD_TOO_SHORT
  PE_PP_PASSWORD_TOO_YOUNG
  PE_PP_PASSWORD_IN_HISTORY
  PE_PASSWORD_MISMATCH
  PE_PASSWORD_OK
  PE_PASSWORDFORMEMPTY
  PE_MUST_SUPPLY_OLD_PASSWORD
);

our $VERSION = '1.1';

extends 'Lemonldap::NG::Portal::Main::Plugin';

use constant DEFAULT_REFUSALS_FILE => '/etc/lemonldap-ng/soctrang/refusals.json';
use constant hook      => { sendHtml => 'showReason' };
use constant aroundSub => {
    getUser      => 'explainRefusal',
    storeHistory => 'countCredentialFailuresOnly',
};

# The results of a correct password on its way to a change, or of the change
# itself. PE5 (wrong password), PE21 (locked) and PE39 (wrong current
# password at the change) are wrong credentials and stay counted.
my %NOT_A_FAILED_LOGIN = map { $_ => 1 } (
    PE_PP_CHANGE_AFTER_RESET,            PE_PP_MUST_SUPPLY_OLD_PASSWORD,
    PE_PP_INSUFFICIENT_PASSWORD_QUALITY, PE_PP_PASSWORD_TOO_SHORT,
    PE_PP_PASSWORD_TOO_YOUNG,            PE_PP_PASSWORD_IN_HISTORY,
    PE_PASSWORD_MISMATCH,                PE_PASSWORD_OK,
    PE_PASSWORDFORMEMPTY,                PE_MUST_SUPPLY_OLD_PASSWORD,
);

# The mailbox states whose refusal is explained (ldap_sync.py's states).
my @EXPLAINED_STATES = qw(disabled retired);

has refusalTexts => ( is => 'rw', default => sub { {} } );

sub init {
    my ($self) = @_;
    my $params = $self->conf->{customPluginsParams} || {};
    my $path   = $params->{soctrangRefusals} || DEFAULT_REFUSALS_FILE;
    my $texts  = eval {
        open my $fh, '<:raw', $path or die "cannot be read: $!\n";
        local $/;
        my $read = JSON::PP->new->utf8->decode(<$fh>);
        die "is not an object\n" unless ref $read eq 'HASH';
        $read;
    };
    if ( !$texts ) {
        # Not fatal: the portal still refuses, with its own PE5 text.
        $self->logger->error("Soctrang::SSO::Portal: $path $@");
        return 1;
    }
    $self->refusalTexts(
        { map { ( $_ => $texts->{$_} ) } grep { defined $texts->{$_} && $texts->{$_} =~ /\S/ } @EXPLAINED_STATES } );
    return 1;
}

sub _html_escape {
    my ($text) = @_;
    $text =~ s/&/&amp;/g;
    $text =~ s/</&lt;/g;
    $text =~ s/>/&gt;/g;
    $text =~ s/"/&quot;/g;
    $text =~ s/'/&#39;/g;
    return $text;
}

sub showReason {
    my ( $self, $req, $template, $args ) = @_;
    my $reason = $req->data->{soctrang_reason};
    return PE_OK unless defined $reason and length $reason;
    my $params = $args->{params} ||= {};

    # getTrOver gives JSON::to_json's character string; accept bytes too.
    my $trover = $params->{TROVER} // '{}';
    $trover = Encode::decode( 'UTF-8', $trover ) unless utf8::is_utf8($trover);
    my $messages = eval { JSON::PP->new->decode($trover) };
    $messages = {} unless ref $messages eq 'HASH';
    $reason = Encode::decode( 'UTF-8', $reason ) unless utf8::is_utf8($reason);
    my $escaped = _html_escape($reason);
    $messages->{all} ||= {};
    for my $lang ( keys %$messages ) {
        next unless ref $messages->{$lang} eq 'HASH';
        $messages->{$lang}{PEsoctrang} = $escaped;
    }

    # ASCII JSON: the template inserts it as it is, whatever the page's encoding.
    $params->{TROVER}     = JSON::PP->new->ascii->canonical->encode($messages);
    $params->{AUTH_ERROR} = 'soctrang';
    return PE_OK;
}

sub explainRefusal {
    my ( $self, $getUser, $req, @args ) = @_;
    my $code = $getUser->( $req, @args );
    return $code unless defined $code and $code == PE_BADCREDENTIALS;
    return $code unless %{ $self->refusalTexts };
    my $login = $req->user;
    return $code unless defined $login and length $login;

    my $userDB = $self->p->_userDB;
    return $code unless $userDB and $userDB->can('ldap') and $userDB->bind;
    my $value = escape_filter_value($login);
    my $mesg  = eval {
        $userDB->ldap->search(
            base      => $self->conf->{ldapBase},
            scope     => 'sub',
            filter    => "(&(objectClass=socMailbox)(|(mail=$value)(uid=$value)))",
            attrs     => ['socMailboxState'],
            sizelimit => 2,
        );
    };
    return $code unless $mesg and !$mesg->code and $mesg->count == 1;
    my $state = $mesg->entry(0)->get_value('socMailboxState') // '';
    if ( my $text = $self->refusalTexts->{$state} ) {
        $self->userLogger->notice("$login refused: mailbox $state");
        $req->data->{soctrang_reason} = $text;
    }
    return $code;
}

sub countCredentialFailuresOnly {
    my ( $self, $storeHistory, $req, @args ) = @_;
    my $result = $req->authResult;
    if ( defined $result and $NOT_A_FAILED_LOGIN{$result} ) {
        $self->logger->debug("Result $result is not a failed login: not stored");
        return PE_OK;
    }
    return $storeHistory->( $req, @args );
}

1;
