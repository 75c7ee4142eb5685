package Soctrang::SSO::Password;

# The portal's password module: LemonLDAP::NG's own LDAP one, which changes the
# password exactly as the webmail does (bound as the user, RFC 3062 exop with
# the old and the new password, ppolicy control: ldapChangePasswordAsUser,
# ldapSetPassword, ldapPpolicyControl), plus the reason slapd gave when it
# refused, in Vietnamese, from the reasons table the webmail reads
# (Soctrang::SSO::Reasons). The reason goes to $req->data->{soctrang_reason};
# Soctrang::SSO::Portal shows it.
#
# Configuration: passwordDB = Custom, customPassword = Soctrang::SSO::Password
# (Password/Custom.pm -> Lib/CustomModule.pm new: `require`, then
# ->new({p => ..., conf => ...}); Main/Init.pm then calls init, inherited).
# The table's path: customPluginsParams soctrangPasswordReasons, by default
# /etc/lemonldap-ng/soctrang/password-reasons.json.

use strict;
use warnings;

use Mouse;
use Lemonldap::NG::Portal::Main::Constants qw(PE_PASSWORD_OK);
use Soctrang::SSO::LDAP    ();
use Soctrang::SSO::Reasons ();

extends 'Lemonldap::NG::Portal::Password::LDAP';

our $VERSION = '1.0';

use constant DEFAULT_REASONS_FILE => '/etc/lemonldap-ng/soctrang/password-reasons.json';

# Net::LDAP's own client-side result codes (LDAP_SERVER_DOWN 0x51 ..
# LDAP_REFERRAL_LIMIT_EXCEEDED 0x61): slapd decided nothing. soctrang_ppolicy.php
# treats libldap's negative codes the same way ("unreachable"): no reason shown,
# LemonLDAP::NG's own error stays.
my %CLIENT_SIDE = map { $_ => 1 } 0x51 .. 0x61;

has reasonsFile => (
    is      => 'ro',
    lazy    => 1,
    default => sub {
        my $params = $_[0]->conf->{customPluginsParams} || {};
        return $params->{soctrangPasswordReasons} || DEFAULT_REASONS_FILE;
    },
);

# Lib/LDAP.pm: `has ldap => (lazy => 1, builder => 'newLdap')`, and
# validateLdap rebuilds the connection with $self->newLdap when it has gone:
# every connection of this module is ours. Net::LDAP's object is a plain hash,
# re-blessed into the subclass that only adds the recording.
sub newLdap {
    my $self = shift;
    my $ldap = $self->SUPER::newLdap(@_) or return undef;
    return bless $ldap, 'Soctrang::SSO::LDAP';
}

# Password/LDAP.pm modifyPassword($req, $pwd, %args) -> PE_* code; called by
# Password/Base.pm _modifyPassword (the forced change after login and the
# change from the menu) and setNewPassword (resets). Only PE_PASSWORD_OK (35)
# runs the passwordAfterChange hook; a refusal has no hook, hence this wrapper.
around modifyPassword => sub {
    my ( $orig, $self, $req, $pwd, %args ) = @_;
    delete $req->data->{soctrang_reason};

    # One request at a time per FastCGI worker: forget the previous one's answer.
    my $before = $self->ldap;
    $before->soctrang_forget_answer if ref $before and $before->can('soctrang_forget_answer');

    my $code = $self->$orig( $req, $pwd, %args );
    return $code if defined $code and $code =~ /\A-?\d+\z/ and $code == PE_PASSWORD_OK;

    # The connection may have been rebuilt meanwhile; the new one's record is
    # this change's too.
    my $ldap   = $self->ldap;
    my $answer = ref $ldap && $ldap->can('soctrang_last_answer') ? $ldap->soctrang_last_answer : undef;
    return $code unless $answer;

    # slapd accepted the last request (what failed was LemonLDAP::NG's own
    # step after it), or decided nothing: no reason of slapd's to show.
    my $result = $answer->{result} // '';
    return $code if $result eq '0';
    return $code if $CLIENT_SIDE{$result} and not defined $answer->{ppolicy};

    my $dn = $req->data->{dn} || ( $req->sessionInfo || {} )->{_dn} || '?';
    $self->logger->notice(
        sprintf 'password change of %s refused at %s: result %s, ppolicy %s, "%s"',
        $dn, $answer->{stage}, $answer->{result} // '?',
        $answer->{ppolicy} // '-', $answer->{diagnostic}
    );

    my $reasons = Soctrang::SSO::Reasons->load( $self->reasonsFile,
        on_problem => sub { $self->logger->error( $_[0] ) } );
    $req->data->{soctrang_reason} = $reasons->message_for( $answer, $pwd // '' )
      if $reasons;
    return $code;
};

1;
